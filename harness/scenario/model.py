"""The scenario model: everything a run needs, validated before anything starts."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.scenario.durations import Duration
from harness.scenario.selectors import SelectorField

class LocatedValueError(ValueError):
    """A cross-field error that knows which key it is about, so the loader can point at its line."""

    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc


Scalar = Union[bool, int, float, str]


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt setting must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TopicSpec(Strict):
    name: str = Field("orders", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    partitions: int = Field(6, ge=1, le=1000)
    replication_factor: int = Field(3, ge=1)


class KafkaTarget(Strict):
    kind: Literal["kafka"]
    nodes: int = Field(3, ge=1, le=9)
    broker_config: dict[str, Scalar] = Field(default_factory=dict)
    topic: TopicSpec = TopicSpec()
    heap: str = Field("384m", pattern=r"^\d+[mg]$", description="JVM -Xmx/-Xms per node")

    @model_validator(mode="after")
    def _replicas_fit(self) -> "KafkaTarget":
        if self.topic.replication_factor > self.nodes:
            raise LocatedValueError(
                f"replication_factor {self.topic.replication_factor} exceeds nodes {self.nodes}:"
                " lower it or add nodes", ("topic", "replication_factor"))
        isr = self.broker_config.get("min.insync.replicas")
        if isr is not None and int(isr) > self.topic.replication_factor:
            raise LocatedValueError(
                f"min.insync.replicas {isr} exceeds replication_factor {self.topic.replication_factor}:"
                " every acks=all write would fail", ("broker_config", "min.insync.replicas"))
        return self


TargetSpec = Annotated[Union[KafkaTarget], Field(discriminator="kind")]


class ProducerSpec(Strict):
    acks: Literal[0, 1, "all"] = "all"
    enable_idempotence: bool = False
    retries: int | None = Field(None, ge=0, description="client default when unset")
    max_in_flight: int = Field(5, ge=1, le=100)
    linger: Duration = 0.005
    message_size: int = Field(200, ge=64, le=1_000_000, description="bytes per message value")
    request_timeout: Duration = 10.0
    delivery_timeout: Duration = 30.0

    @field_validator("acks", mode="before")
    @classmethod
    def _acks_aliases(cls, value: object) -> object:
        return {-1: "all", "-1": "all", "0": 0, "1": 1}.get(value, value)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _idempotence_needs_acks_all(self) -> "ProducerSpec":
        if self.enable_idempotence and self.acks != "all":
            raise ValueError("enable_idempotence requires acks: all (the broker refuses it otherwise)")
        return self


class LoadSpec(Strict):
    users: int = Field(4, ge=1, le=200)
    rate: float = Field(500, gt=0, le=200_000, description="messages/s in total, over all users")
    duration: Duration = 60.0


class ConsumerSpec(Strict):
    group: str = Field("aftershock", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    instances: int = Field(2, ge=0, le=32)


class FaultSpec(Strict):
    at: Duration
    action: str
    target: SelectorField
    heal_after: Duration | None = None

    @field_validator("action")
    @classmethod
    def _known_action(cls, value: str) -> str:
        from harness.faults import FAULTS

        if value not in FAULTS:
            raise ValueError(f"unknown action {value!r}: use one of {', '.join(sorted(FAULTS))}")
        return value


class DrainSpec(Strict):
    timeout: Duration = 60.0
    settle: Duration = Field(3.0, description="quiet time with nothing missing before draining stops")


class Bound(Strict):
    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _ordered(self) -> "Bound":
        if self.min is None and self.max is None:
            raise ValueError("give min:, max: or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


class Scenario(Strict):
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
    description: str = ""
    seed: int = 0
    target: TargetSpec
    runtime: Literal["local"] = "local"
    producer: ProducerSpec = ProducerSpec()
    load: LoadSpec = LoadSpec()
    consumer: ConsumerSpec = ConsumerSpec()
    faults: list[FaultSpec] = Field(default_factory=list)
    drain: DrainSpec = DrainSpec()
    expect: dict[str, Union[float, Bound]] = Field(default_factory=dict)

    @field_validator("expect")
    @classmethod
    def _known_metrics(cls, value: dict[str, object]) -> dict[str, object]:
        from harness.check import METRICS

        unknown = sorted(set(value) - set(METRICS))
        if unknown:
            raise ValueError(f"unknown figure(s) {', '.join(unknown)}: expect takes {', '.join(METRICS)}")
        return value

    @model_validator(mode="after")
    def _faults_fit(self) -> "Scenario":
        nodes = self.target.nodes
        for i, fault in enumerate(self.faults):
            if fault.at >= self.load.duration:
                raise LocatedValueError(
                    f"at {fault.at:g}s is not inside the load ({self.load.duration:g}s): move it earlier"
                    " or lengthen load.duration", ("faults", i, "at"))
            sel = fault.target
            if sel.kind == "node" and sel.index > nodes:
                raise LocatedValueError(f"{sel} but the cluster has {nodes} nodes", ("faults", i, "target"))
            if sel.kind == "consumer" and sel.index > self.consumer.instances:
                raise LocatedValueError(
                    f"{sel} but there are {self.consumer.instances} consumer instances", ("faults", i, "target"))
        return self


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"
