"""Consumer-side fault-tolerance patterns a scenario can switch on (issue: sample consumers)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.scenario.durations import Duration
from harness.scenario.located import LocatedValueError
from harness.scenario.numbers import FiniteFloat, Whole


class _Spec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class ProcessingSpec(_Spec):
    time: Duration = Field(0.0, description="simulated work per message")
    fail_rate: FiniteFloat = Field(0.0, ge=0.0, le=1.0, description="transient failures per attempt (seeded)")


class IdempotencySpec(_Spec):
    store: Literal["none", "memory", "sqlite"] = "none"


class RetrySpec(_Spec):
    max_attempts: Whole = Field(1, ge=1, le=100, description="attempts in all; 1 = no retry")
    backoff: Literal["exponential"] = "exponential"
    base: Duration = 0.1
    max: Duration = 5.0
    jitter: Literal["none", "full", "equal", "decorrelated"] = "full"

    @model_validator(mode="after")
    def _ordered(self) -> RetrySpec:
        if self.base <= 0 or self.max < self.base:
            raise LocatedValueError("retry needs 0 < base <= max", ("max",))
        return self


class DeadLetterSpec(_Spec):
    topic: str | None = Field(None, pattern=r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,199}$", description="Kafka")
    queue: str | None = Field(None, pattern=r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,199}$", description="RabbitMQ")

    @model_validator(mode="after")
    def _one_destination(self) -> DeadLetterSpec:
        if (self.topic is None) == (self.queue is None):
            raise LocatedValueError("dead_letter takes topic: (Kafka) or queue: (RabbitMQ)", ("topic",))
        if self.topic is not None and (self.topic.startswith("__") or self.topic in (".", "..")):
            raise LocatedValueError(f"{self.topic!r}: Kafka keeps names starting with '__' for its internal"
                                    " topics (and '.', '..' are no names): choose another", ("topic",))
        if self.queue is not None and self.queue.startswith("amq."):
            raise LocatedValueError(f"{self.queue!r} starts with 'amq.', which RabbitMQ keeps for its own queues:"
                                    " choose another name", ("queue",))
        return self

    @property
    def destination(self) -> str:
        return self.topic or self.queue or ""


class DownstreamSpec(_Spec):
    service: Literal["inventory"] = "inventory"
    timeout: Duration = 0.5


class BreakerSpec(_Spec):
    failure_threshold: Whole = Field(5, ge=1)
    reset_timeout: Duration = 10.0
    half_open_max_calls: Whole = Field(1, ge=1)


class PoisonSpec(_Spec):
    rate: FiniteFloat = Field(gt=0.0, le=1.0, description="share of messages no consumer can ever process (seeded)")


class OutboxSpec(_Spec):
    """The producer writes each message to an outbox table in its business transaction; a relay publishes."""

    store: Literal["sqlite"] = "sqlite"
    batch: Whole = Field(200, ge=1, le=10_000, description="rows the relay publishes per round")
    poll: Duration = Field(0.05, description="how long the relay waits when the outbox is empty")
