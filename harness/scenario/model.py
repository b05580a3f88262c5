"""The scenario model: everything a run needs, validated before anything starts."""

from __future__ import annotations

import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.scenario.durations import Duration
from harness.scenario.fault_specs import TOXIC_ACTIONS, FaultSpec, PartitionFault
from harness.scenario.located import LocatedValueError
from harness.scenario.patterns import (
    BreakerSpec, DeadLetterSpec, DownstreamSpec, IdempotencySpec, OutboxSpec, PoisonSpec, ProcessingSpec, RetrySpec,
)
from harness.scenario.selectors import Selector

Scalar = Union[bool, int, float, str]
MAX_VARIANTS = 64
# What a run can set on a Kafka cluster it did not configure: these are topic settings too, so they
# apply to the run's topic when it is created.
KAFKA_TOPIC_LEVEL = ("min.insync.replicas", "unclean.leader.election.enable", "retention.ms", "segment.bytes",
                     "max.message.bytes", "message.timestamp.type")


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
    dead_letter_confirm_timeout: Duration | None = Field(
        None, description="how long a quorum queue's at-least-once dead-letter worker waits for the"
                          " dead-letter queue to confirm before sending again (broker default 180 s)")

    @field_validator("broker_config")
    @classmethod
    def _known_partition_handling(cls, value: dict[str, Scalar]) -> dict[str, Scalar]:
        mode = value.get("cluster_partition_handling")
        if mode is not None and mode not in ("ignore", "pause_minority", "autoheal"):
            raise ValueError(f"cluster_partition_handling {mode!r}: use ignore, pause_minority or autoheal")
        return value


TargetSpec = Annotated[Union[KafkaTarget, RabbitTarget], Field(discriminator="kind")]
DEFAULT_KAFKA_CLIENT = "kafka-python"


class ProducerSpec(Strict):
    # Kafka
    client: Literal["kafka-python", "confluent-kafka"] = Field(
        DEFAULT_KAFKA_CLIENT, description="the producers' client library; confluent-kafka (librdkafka) is faster")
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
    # Both
    poison: PoisonSpec | None = None
    outbox: OutboxSpec | None = Field(None, description="publish through a transactional outbox and its relay")

    @field_validator("acks", mode="before")
    @classmethod
    def _acks_aliases(cls, value: object) -> object:
        return {-1: "all", "-1": "all", "0": 0, "1": 1}.get(value, value)  # type: ignore[arg-type]

    @model_validator(mode="after")
    def _idempotence_needs_acks_all(self) -> "ProducerSpec":
        if self.enable_idempotence and self.acks != "all":
            raise ValueError("enable_idempotence requires acks: all (the broker refuses it otherwise)")
        # Both clients refuse these at start-up, which would leave a run without producers.
        if self.enable_idempotence and self.max_in_flight > 5:
            raise LocatedValueError("enable_idempotence allows at most 5 requests in flight: lower max_in_flight",
                                    ("max_in_flight",))
        if self.enable_idempotence and self.retries == 0:
            raise LocatedValueError("enable_idempotence needs retries: remove retries: 0", ("retries",))
        return self


class LoadSpec(Strict):
    users: int = Field(4, ge=1, le=200)
    rate: float = Field(500, gt=0, le=200_000, description="messages/s in total, over all users")
    duration: Duration = 60.0


class ConsumerSpec(Strict):
    group: str = Field("aftershock", pattern=r"^[A-Za-z0-9._-]{1,200}$")
    instances: int = Field(2, ge=0, le=32)
    ack: Literal["manual", "auto"] = Field("manual", description="RabbitMQ: ack after ledgering, or on delivery")
    prefetch: int = Field(50, ge=1, le=65535)
    processing: ProcessingSpec = ProcessingSpec()
    idempotency: IdempotencySpec = IdempotencySpec()
    retry: RetrySpec = RetrySpec()
    dead_letter: DeadLetterSpec | None = None
    downstream: DownstreamSpec | None = None
    circuit_breaker: BreakerSpec | None = None
    fallback: Literal["park", "skip-to-dlq", "degrade"] = Field(
        "park", description="while the breaker is open: retry later, dead-letter, or process degraded")

    @model_validator(mode="after")
    def _patterns_fit(self) -> "ConsumerSpec":
        if self.circuit_breaker is not None and self.downstream is None:
            raise LocatedValueError("circuit_breaker guards the downstream call: add downstream:", ("circuit_breaker",))
        if self.fallback == "skip-to-dlq" and self.circuit_breaker is not None and self.dead_letter is None:
            raise LocatedValueError("fallback skip-to-dlq needs dead_letter:", ("fallback",))
        if self.idempotency.store != "none" and self.downstream is None:
            raise LocatedValueError("idempotency protects a side effect: add downstream:", ("idempotency",))
        return self


class NetworkSpec(Strict):
    isolation: Literal["none", "namespaces"] = Field(
        "none", description="namespaces: each broker node in its own network namespace (needed for partitions)")


class NemesisSpec(Strict):
    """A seeded generator of faults, like Jepsen's nemesis packages."""

    kinds: list[Literal["kill", "pause", "restart", "partition", "latency", "down"]] = Field(min_length=1)
    interval: Duration = 10.0
    duration: Duration = Field(5.0, description="mean time each fault stays in force")
    start: Duration = 10.0
    stop: Duration | None = Field(None, description="default: 5 s before the load ends")


class DrainSpec(Strict):
    timeout: Duration = 60.0
    settle: Duration = Field(3.0, description="quiet time with nothing missing before draining stops")
    stall: Duration = Field(30.0, description="stop early when nothing more arrived for this long:"
                                              " what is still missing then is lost, not late")

    @model_validator(mode="after")
    def _ordered(self) -> "DrainSpec":
        if self.stall <= self.settle:
            raise LocatedValueError(f"stall ({self.stall:g}s) must be longer than settle ({self.settle:g}s)",
                                    ("stall",))
        return self


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
    runtime: Literal["local", "docker", "compose"] = Field(
        "local", description="local processes, containers on a Docker engine (DOCKER_HOST), or the"
                             " containers of a cluster brought up with docker-compose.yml")
    producer: ProducerSpec = ProducerSpec()
    load: LoadSpec = LoadSpec()
    consumer: ConsumerSpec = ConsumerSpec()
    network: NetworkSpec = NetworkSpec()
    faults: list[FaultSpec] = Field(default_factory=list)
    nemesis: NemesisSpec | None = None
    drain: DrainSpec = DrainSpec()
    expect: dict[str, Union[float, Bound]] = Field(default_factory=dict)
    matrix: dict[str, list[Scalar]] = Field(
        default_factory=dict, description="dotted setting -> values; every combination is run as a variant")

    @field_validator("matrix")
    @classmethod
    def _matrix_shape(cls, value: dict[str, list[Scalar]]) -> dict[str, list[Scalar]]:
        for key, values in value.items():
            if not values:
                raise LocatedValueError(f"{key}: give at least one value", (key,))
        combos = 1
        for values in value.values():
            combos *= len(values)
        if combos > MAX_VARIANTS:
            raise ValueError(f"{combos} variants: at most {MAX_VARIANTS} per scenario file")
        return value

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
        for i, fault in enumerate(self.faults):
            if fault.at >= self.load.duration:
                raise LocatedValueError(
                    f"at {fault.at:g}s is not inside the load ({self.load.duration:g}s): move it earlier"
                    " or lengthen load.duration", ("faults", i, "at"))
            for key, sel in _selectors_of(fault):
                self._check_selector(sel, ("faults", i, key))
            if isinstance(fault, PartitionFault):
                self._check_partition(fault, ("faults", i))
        if self.nemesis is not None:
            if "partition" in self.nemesis.kinds and self.network.isolation != "namespaces":
                raise LocatedValueError("partition faults need network: {isolation: namespaces}",
                                        ("nemesis", "kinds"))
            stop = self.nemesis.stop if self.nemesis.stop is not None else self.load.duration - 5
            if not 0 <= self.nemesis.start < stop <= self.load.duration:
                raise LocatedValueError(f"nemesis start {self.nemesis.start:g}s must come before stop {stop:g}s,"
                                        f" inside the load ({self.load.duration:g}s)", ("nemesis",))
        if isinstance(self.target, RabbitTarget) and self.target.queue.type == "stream" and self.consumer.ack == "auto":
            raise LocatedValueError("stream queues need manual acks: set consumer.ack: manual", ("consumer", "ack"))
        self._check_dead_letter()
        if self.runtime == "compose":
            self._check_compose()
        self._check_producer_client()
        if isinstance(self.target, RabbitTarget) and self.producer.outbox is not None:
            raise LocatedValueError("producer outbox: not supported for RabbitMQ yet (Kafka only for now)",
                                    ("producer", "outbox"))
        if isinstance(self.target, RabbitTarget) and self.target.queue.type == "stream" and self.consumer.instances > 1:
            raise LocatedValueError(
                "a stream delivers every message to every consumer (RabbitMQ 3.10 has no single active consumer"
                " for streams), so N instances would read everything N times: set consumer.instances: 1",
                ("consumer", "instances"))
        return self

    @model_validator(mode="after")
    def _variants_valid(self) -> "Scenario":
        """Every combination must be a valid scenario itself, checked before anything runs."""
        if self.matrix:
            from harness.scenario.matrix import variants

            try:
                variants(self)
            except LocatedValueError as exc:
                raise LocatedValueError(str(exc), ("matrix", *exc.loc)) from None
        return self

    def _check_compose(self) -> None:
        """A compose-managed cluster is configured by its compose file, not by the scenario, and its
        brokers advertise their own listeners, so no proxy can sit in front of them."""
        for i, fault in enumerate(self.faults):
            if fault.action in TOXIC_ACTIONS:
                raise LocatedValueError(
                    f"{fault.action} is a Toxiproxy link fault: a compose-managed cluster advertises its own"
                    " listeners, so no proxy can sit in front of it; use runtime: docker (or local)",
                    ("faults", i, "action"))
        if self.nemesis is not None:
            linked = sorted(set(self.nemesis.kinds) & set(TOXIC_ACTIONS))
            if linked:
                raise LocatedValueError(f"nemesis kinds {', '.join(linked)} are link faults: not on runtime: compose"
                                        " (use runtime: docker)", ("nemesis", "kinds"))
        target = self.target
        if isinstance(target, KafkaTarget):
            fixed = sorted(set(target.broker_config) - set(KAFKA_TOPIC_LEVEL))
            if fixed:
                raise LocatedValueError(
                    f"broker_config {', '.join(fixed)}: a compose-managed cluster takes its broker settings"
                    " from docker-compose.yml (KAFKA_<KEY> variables); only topic-level keys"
                    f" ({', '.join(KAFKA_TOPIC_LEVEL)}) apply here", ("target", "broker_config"))
        else:
            defaults = RabbitTarget.model_fields
            settable = {name for name in ("net_ticktime", "dead_letter_confirm_timeout")
                        if getattr(target, name) != defaults[name].default}
            fixed = sorted(set(target.broker_config) - {"cluster_partition_handling"})
            if settable or fixed:
                raise LocatedValueError(
                    f"{', '.join(sorted(settable) + fixed)}: a compose-managed RabbitMQ takes its settings from"
                    " targets/rabbitmq/compose.conf; remove them here (cluster_partition_handling may stay:"
                    " the run checks the cluster has it)", ("target", sorted(settable)[0] if settable else "broker_config"))

    def _check_producer_client(self) -> None:
        client = self.producer.client
        if client == DEFAULT_KAFKA_CLIENT:
            return
        where = ("producer", "client")
        if isinstance(self.target, RabbitTarget):
            raise LocatedValueError(f"client {client} is a Kafka client: RabbitMQ producers use pika;"
                                    " remove producer.client", where)
        if self.producer.outbox is not None:
            raise LocatedValueError(f"client {client}: with an outbox the relay publishes (with"
                                    f" {DEFAULT_KAFKA_CLIENT}); remove producer.client or producer.outbox", where)

    def _check_dead_letter(self) -> None:
        dead_letter = self.consumer.dead_letter
        if dead_letter is None:
            return
        where = ("consumer", "dead_letter")
        if isinstance(self.target, KafkaTarget) and dead_letter.queue is not None:
            raise LocatedValueError("Kafka dead-letters into a topic: write dead_letter: {topic: NAME}", where)
        if isinstance(self.target, RabbitTarget):
            if dead_letter.topic is not None:
                raise LocatedValueError("RabbitMQ dead-letters into a queue: write dead_letter: {queue: NAME}", where)
            if dead_letter.queue == self.target.queue.name:
                raise LocatedValueError("the dead-letter queue must differ from the main queue", where)
            if self.target.queue.type == "stream":
                raise LocatedValueError("streams cannot dead-letter (no reject): use a quorum or classic queue",
                                        where)
            if self.consumer.ack == "auto":
                raise LocatedValueError("dead-lettering rejects messages, which auto-ack cannot:"
                                        " set consumer.ack: manual", where)

    def _check_selector(self, sel: Selector, where: tuple[str | int, ...]) -> None:
        nodes = self.target.nodes
        if sel.kind == "controller" and self.target.kind != "kafka":
            raise LocatedValueError("controller is a Kafka (KRaft) target: use node(i) or leader(queue)", where)
        if sel.kind == "node" and sel.index > nodes:
            raise LocatedValueError(f"{sel} but the cluster has {nodes} nodes", where)
        if sel.kind == "relay" and self.producer.outbox is None:
            raise LocatedValueError("relay is the outbox relay: add producer: {outbox: {store: sqlite}}", where)
        if sel.kind == "consumer" and sel.index > self.consumer.instances:
            raise LocatedValueError(f"{sel} but there are {self.consumer.instances} consumer instances", where)

    def _check_partition(self, fault: PartitionFault, where: tuple[str | int, ...]) -> None:
        if self.network.isolation != "namespaces":
            raise LocatedValueError("partition needs network: {isolation: namespaces} (nodes in their own"
                                    " network namespaces)", where + ("action",))
        if fault.mode == "disconnect" and self.runtime != "docker":
            raise LocatedValueError("mode disconnect takes a container off its Docker network: it needs"
                                    " runtime: docker (on local processes, mode: isolate cuts a node off)",
                                    where + ("mode",))
        if fault.groups:
            flat = [n for group in fault.groups for n in group]
            if len(flat) != len(set(flat)) or not all(1 <= n <= self.target.nodes for n in flat):
                raise LocatedValueError(f"groups must name nodes 1..{self.target.nodes} at most once each",
                                        where + ("groups",))
        if fault.mode in ("halves", "majority", "minority", "majorities-ring", "bridge") and self.target.nodes < 3:
            raise LocatedValueError(f"mode {fault.mode} needs at least 3 nodes", where + ("mode",))


def _selectors_of(fault: object) -> list[tuple[str, Selector]]:
    found: list[tuple[str, Selector]] = []
    target = getattr(fault, "target", None)
    if isinstance(target, Selector):
        found.append(("target", target))
    link = getattr(fault, "link", None)
    if link is not None:
        if link.dest is not None:
            found.append(("link", link.dest))
        if link.source_index is not None:
            found.append(("link", Selector("consumer", (str(link.source_index),))))
    if isinstance(fault, PartitionFault) and fault.between:
        found += [("between", side) for side in fault.sides() if isinstance(side, Selector)]
    return found


def slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "run"
