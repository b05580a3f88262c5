"""The sections of a scenario that every broker shares: producer, load, consumer, network, nemesis,
drain and the bounds of `expect:`. The scenario itself (harness.scenario.model) puts them together
with the broker's own `target:` spec."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from pydantic import Discriminator, Field, Tag, field_validator, model_validator

from harness.scenario.durations import Duration
from harness.scenario.located import LocatedValueError
from harness.scenario.numbers import FiniteFloat, Whole
from harness.scenario.patterns import (
    BreakerSpec,
    DeadLetterSpec,
    DownstreamSpec,
    IdempotencySpec,
    OutboxSpec,
    PoisonSpec,
    ProcessingSpec,
    RetrySpec,
)
from harness.scenario.strict import NAME, Scalar, Strict

MIN_NEMESIS_STEP = 0.1

DEFAULT_KAFKA_CLIENT: Final = "kafka-python"


class ProducerSpec(Strict):
    # Kafka
    client: Literal["kafka-python", "confluent-kafka"] = Field(
        DEFAULT_KAFKA_CLIENT, description="the producers' client library; confluent-kafka (librdkafka) is faster")
    acks: Literal[0, 1, "all"] = "all"
    enable_idempotence: bool = False
    retries: Whole | None = Field(None, ge=0, le=2**31 - 1, description="client default when unset")
    max_in_flight: Whole = Field(5, ge=1, le=100)
    linger: Duration = 0.005
    message_size: Whole = Field(200, ge=64, le=1_000_000, description="bytes per message value")
    request_timeout: Duration = 10.0
    delivery_timeout: Duration = 30.0
    # RabbitMQ
    confirms: bool = True
    persistent: bool = True
    mandatory: bool = True
    confirm_timeout: Duration | None = Field(
        None, description="RabbitMQ, with confirms: how long a publisher waits for its confirm before it gives"
                          " the publish up as failed and reconnects (default: until the connection fails)")
    # Both
    poison: PoisonSpec | None = None
    outbox: OutboxSpec | None = Field(None, description="publish through a transactional outbox and its relay")
    properties: dict[str, Scalar] = Field(
        default_factory=dict, description="Kafka: any producer property (compression.type, batch.size...), as Kafka"
                                          " names it, checked against and given to the client that runs")

    @field_validator("acks", mode="before")
    @classmethod
    def _acks_aliases(cls, value: object) -> object:
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return value  # refused by the Literal, with the accepted values
        return {-1: "all", "-1": "all", "0": 0, "1": 1}.get(value, value)

    @model_validator(mode="after")
    def _idempotence_needs_acks_all(self) -> ProducerSpec:
        if self.enable_idempotence and self.acks != "all":
            raise ValueError("enable_idempotence requires acks: all (the broker refuses it otherwise)")
        # Both clients refuse these at start-up, which would leave a run without producers.
        if self.enable_idempotence and self.max_in_flight > 5:
            raise LocatedValueError("enable_idempotence allows at most 5 requests in flight: lower max_in_flight",
                                    ("max_in_flight",))
        if self.confirm_timeout is not None and not self.confirms:
            raise LocatedValueError("confirm_timeout is how long a publisher waits for a confirm, and confirms is"
                                    " false: set confirms: true or remove it", ("confirm_timeout",))
        if self.confirm_timeout is not None and self.confirm_timeout < 0.01:
            raise LocatedValueError("confirm_timeout: give at least 10ms", ("confirm_timeout",))
        if self.enable_idempotence and self.retries == 0:
            raise LocatedValueError("enable_idempotence needs retries: remove retries: 0", ("retries",))
        return self


class LoadSpec(Strict):
    users: Whole = Field(4, ge=1, le=200)
    rate: FiniteFloat = Field(500, gt=0, le=200_000, description="messages/s in total, over all users")
    duration: Duration = 60.0

    @model_validator(mode="after")
    def _sends_something(self) -> LoadSpec:
        if self.rate * self.duration < self.users:
            raise LocatedValueError(f"{self.rate:g}/s for {self.duration:g}s is less than one message per user:"
                                    " with nothing sent, no loss could be seen; raise rate or duration", ("duration",))
        return self


class ConsumerSpec(Strict):
    group: str = Field("aftershock", pattern=NAME)
    # Kafka
    client: Literal["kafka-python", "confluent-kafka"] = Field(
        DEFAULT_KAFKA_CLIENT, description="the consumer services' client library")
    group_protocol: Literal["classic", "consumer"] = Field(
        "classic", description="the group protocol: classic (client-side assignment, stop-the-world"
                               " rebalances) or consumer (KIP-848: the broker assigns; Kafka 4.0+, confluent-kafka)")
    commit: Literal["after-process", "before-process", "auto"] = Field(
        "after-process", description="Kafka: when a batch's offsets are committed: after it is processed"
                                     " (at-least-once), before (at-most-once: a crash loses the rest of the"
                                     " batch), or by the client every auto_commit_interval (enable.auto.commit)")
    auto_commit_interval: Duration = Field(5.0, description="Kafka, with commit: auto: auto.commit.interval.ms")
    auto_offset_reset: Literal["earliest", "latest"] = Field(
        "earliest", description="Kafka: where a member starts on a partition its group committed nothing for"
                                " (latest skips what was written before it looked)")
    session_timeout: Duration = Field(10.0, description="Kafka, classic protocol: session.timeout.ms (under"
                                                        " KIP-848 the broker's group.consumer.session.timeout.ms)")
    heartbeat_interval: Duration = Field(1.0, description="Kafka, classic protocol: heartbeat.interval.ms")
    instances: Whole = Field(2, ge=0, le=32)
    ack: Literal["manual", "auto"] = Field("manual", description="RabbitMQ: ack after ledgering, or on delivery")
    prefetch: Whole = Field(50, ge=1, le=65535)
    requeue: bool = Field(False, description="RabbitMQ: a message the consumer gives up on is nacked back into the"
                                             " queue (redelivered until the quorum queue's delivery limit drops or"
                                             " dead-letters it) instead of dead-lettered or dropped at once")
    properties: dict[str, Scalar] = Field(
        default_factory=dict, description="Kafka: any consumer property (max.poll.records, fetch.min.bytes...),"
                                          " as Kafka names it, checked against and given to the client that runs")
    processing: ProcessingSpec = ProcessingSpec()
    idempotency: IdempotencySpec = IdempotencySpec()
    retry: RetrySpec = RetrySpec()
    dead_letter: DeadLetterSpec | None = None
    downstream: DownstreamSpec | None = None
    circuit_breaker: BreakerSpec | None = None
    fallback: Literal["park", "skip-to-dlq", "degrade"] = Field(
        "park", description="while the breaker is open: retry later, dead-letter, or process degraded")

    @model_validator(mode="after")
    def _patterns_fit(self) -> ConsumerSpec:
        if self.group_protocol == "consumer" and self.client != "confluent-kafka":
            raise LocatedValueError(f"group_protocol consumer (KIP-848) needs a client that speaks it, and"
                                    f" {self.client} does not: set consumer.client: confluent-kafka",
                                    ("group_protocol",))
        # Compared with the defaults, not model_fields_set: a matrix variant is built again from a whole dump.
        defaults = type(self).model_fields
        if self.auto_commit_interval != defaults["auto_commit_interval"].default and self.commit != "auto":
            raise LocatedValueError(f"auto_commit_interval is how often the client commits with commit: auto,"
                                    f" and commit is {self.commit}: set commit: auto or remove it",
                                    ("auto_commit_interval",))
        if self.group_protocol == "consumer":
            for name, key in (("session_timeout", "session.timeout.ms"),
                              ("heartbeat_interval", "heartbeat.interval.ms")):
                if getattr(self, name) != defaults[name].default:
                    raise LocatedValueError(f"under group_protocol consumer (KIP-848) the broker holds the {name}:"
                                            f" set target.broker_config group.consumer.{key} instead", (name,))
        elif self.heartbeat_interval >= self.session_timeout:
            raise LocatedValueError(f"heartbeat_interval {self.heartbeat_interval:g}s must be shorter than"
                                    f" session_timeout {self.session_timeout:g}s (Kafka advises a third of it)",
                                    ("heartbeat_interval",))
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

    kinds: list[Literal["kill", "pause", "restart", "partition", "latency", "down"]] = Field(
        min_length=1, max_length=100)
    interval: Duration = Field(10.0, description="mean quiet time between faults")
    duration: Duration = Field(5.0, description="mean time each fault stays in force")
    start: Duration = 10.0
    stop: Duration | None = Field(None, description="default: 5 s before the load ends")

    @model_validator(mode="after")
    def _steps_forward(self) -> NemesisSpec:
        for name in ("interval", "duration"):
            if getattr(self, name) < MIN_NEMESIS_STEP:
                raise LocatedValueError(f"{name} {getattr(self, name):g}s: give at least {MIN_NEMESIS_STEP * 1000:g}ms"
                                        " (the schedule moves on by half of interval + duration per fault)", (name,))
        return self

    def most_faults(self, stop: float) -> int:
        """An upper bound on the faults the generator makes before `stop`: each step moves on by at
        least half the duration and half the interval (less a millisecond of rounding)."""
        step = 0.5 * (self.duration + self.interval) - 0.001
        return int(max(stop - self.start, 0.0) / step) + 1


class DrainSpec(Strict):
    timeout: Duration = 60.0
    settle: Duration = Field(3.0, description="quiet time with nothing missing before draining stops")
    stall: Duration = Field(30.0, description="stop early when nothing more arrived for this long:"
                                              " what is still missing then is lost, not late")

    @model_validator(mode="after")
    def _ordered(self) -> DrainSpec:
        if self.stall <= self.settle:
            raise LocatedValueError(f"stall ({self.stall:g}s) must be longer than settle ({self.settle:g}s)",
                                    ("stall",))
        return self


class Bound(Strict):
    min: FiniteFloat | None = None
    max: FiniteFloat | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("give min:, max: or both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"min {self.min} is greater than max {self.max}")
        return self


ExpectBound = Annotated[Annotated[FiniteFloat, Tag("number")] | Annotated[Bound, Tag("bound")],
                        Discriminator(lambda value: "bound" if isinstance(value, (dict, Bound)) else "number")]
"""`lost: 0` (exactly) or `lost: {min: 1}`: a mapping is a Bound, anything else must be a number."""
