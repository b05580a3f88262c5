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


class QueueSpec(Strict):
    name: str = Field("orders", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    type: Literal["classic", "quorum", "stream"] = "quorum"
    durable: bool = True

    @model_validator(mode="after")
    def _replicated_types_are_durable(self) -> "QueueSpec":
        if self.type != "classic" and not self.durable:
            raise LocatedValueError(f"{self.type} queues are always durable: remove durable: false", ("durable",))
        return self


class RabbitTarget(Strict):
    kind: Literal["rabbitmq"]
    nodes: int = Field(3, ge=1, le=7)
    queue: QueueSpec = QueueSpec()
    broker_config: dict[str, Scalar] = Field(
        default_factory=dict, description="rabbitmq.conf keys, e.g. cluster_partition_handling")
    net_ticktime: int = Field(10, ge=1, le=120, description="seconds; how fast nodes notice a lost peer")

    @field_validator("broker_config")
    @classmethod
    def _known_partition_handling(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        mode = value.get("cluster_partition_handling")
        if mode is not None and mode not in ("ignore", "pause_minority", "autoheal"):
            raise ValueError(f"cluster_partition_handling {mode!r}: use ignore, pause_minority or autoheal")
        return value


TargetSpec = Annotated[Union[KafkaTarget, RabbitTarget], Field(discriminator="kind")]


class ProducerSpec(Strict):
    # Kafka
    acks: Literal[0, 1, "all"] = "all"
    enable_idempotence: bool = False
    retries: int | None = Field(None, ge=0, description="client default when unset")
    max_in_flight: int = Field(5, ge=1, le=100)
    linger: Duration = 0.005
    message_size: int = Field(200, ge=64, le=1_000_000, description="bytes per message value")
    request_timeout: Duration = 10.0
    delivery_timeout: Duration = 30.0
    # RabbitMQ
    confirms: bool = True
    persistent: bool = True
    mandatory: bool = True

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


class ProcessingSpec(Strict):
    time: Duration = Field(0.0, description="simulated work per message")


class ConsumerSpec(Strict):
    group: str = Field("aftershock", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    instances: int = Field(2, ge=0, le=32)
    ack: Literal["manual", "auto"] = Field("manual", description="RabbitMQ: ack after ledgering, or on delivery")
    prefetch: int = Field(50, ge=1, le=65535)
    processing: ProcessingSpec = ProcessingSpec()


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
            if sel.kind == "controller" and self.target.kind != "kafka":
                raise LocatedValueError("controller is a Kafka (KRaft) target: use node(i) or leader(queue)",
                                        ("faults", i, "target"))
            if sel.kind == "node" and sel.index > nodes:
                raise LocatedValueError(f"{sel} but the cluster has {nodes} nodes", ("faults", i, "target"))
            if sel.kind == "consumer" and sel.index > self.consumer.instances:
                raise LocatedValueError(
                    f"{sel} but there are {self.consumer.instances} consumer instances", ("faults", i, "target"))
        if isinstance(self.target, RabbitTarget) and self.target.queue.type == "stream" and self.consumer.ack == "auto":
            raise LocatedValueError("stream queues need manual acks: set consumer.ack: manual", ("consumer", "ack"))
        return self


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"
