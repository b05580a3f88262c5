"""The consumer pipeline with a fake clock, a fake downstream and seeded failures."""

from __future__ import annotations

import random

import pytest

from harness.patterns.idempotency import MemoryStore
from harness.patterns.pipeline import Outcome, Pipeline
from harness.scenario.model import ConsumerSpec


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


class Downstream:
    def __init__(self, fail_until: float = -1.0, clock: Clock | None = None) -> None:
        self.calls: list[tuple[int, str]] = []
        self.fail_until, self.clock = fail_until, clock

    def __call__(self, message_id: int, mode: str) -> None:
        if self.clock is not None and self.clock.now < self.fail_until and mode == "normal":
            raise TimeoutError("inventory timed out")
        self.calls.append((message_id, mode))


def pipeline(spec: dict, downstream: Downstream | None = None, clock: Clock | None = None, **kw) -> Pipeline:  # type: ignore[no-untyped-def]  # kw: Pipeline's
    clock = clock or Clock()
    return Pipeline(ConsumerSpec.model_validate(spec), random.Random(1), downstream, sleep=clock.sleep,
                    clock=clock, **kw)


DLQ = {"dead_letter": {"topic": "orders.dlq"}}


def test_a_healthy_message_is_processed_once() -> None:
    downstream = Downstream()
    assert pipeline({"downstream": {}}, downstream).handle(1, poison=False) == Outcome("processed", attempts=1)
    assert downstream.calls == [(1, "normal")]


def test_poison_goes_to_the_dead_letter_queue_without_retries() -> None:
    outcome = pipeline({**DLQ, "retry": {"max_attempts": 5}}).handle(1, poison=True)
    assert outcome == Outcome("dead_letter", "poison", 1)


def test_without_a_dead_letter_queue_a_poison_message_is_dropped() -> None:
    assert pipeline({}).handle(1, poison=True).kind == "dropped"


def test_transient_failures_are_retried_with_backoff_then_dead_lettered() -> None:
    retries: list[tuple[int, float]] = []
    clock = Clock()
    p = pipeline({**DLQ, "processing": {"fail_rate": 1.0},
                  "retry": {"max_attempts": 4, "base": "100ms", "max": "1s", "jitter": "none"}},
                 clock=clock, on_retry=lambda mid, attempt, delay, why: retries.append((attempt, delay)))
    assert p.handle(9, poison=False) == Outcome("dead_letter", "exhausted", 4)
    assert retries == [(1, 0.1), (2, 0.2), (3, 0.4)]
    assert clock.now == pytest.approx(0.7)


def test_seeded_transient_failures_mostly_succeed_on_retry() -> None:
    p = pipeline({**DLQ, "processing": {"fail_rate": 0.3}, "retry": {"max_attempts": 5, "base": "1ms", "max": "10ms"}})
    outcomes = [p.handle(i, poison=False) for i in range(200)]
    assert sum(o.kind == "processed" for o in outcomes) >= 195
    assert any(o.attempts > 1 for o in outcomes)


def test_breaker_opens_on_downstream_failures_and_parks_until_it_recovers() -> None:
    clock = Clock()
    downstream = Downstream(fail_until=5.0, clock=clock)
    # Retries are spent on real attempts only: time parked behind the open breaker costs none.
    rejected: list[int] = []
    p = pipeline({"downstream": {}, "retry": {"max_attempts": 10, "base": "100ms", "max": "1s", "jitter": "none"},
                  "circuit_breaker": {"failure_threshold": 3, "reset_timeout": "2s"}, "fallback": "park"},
                 downstream, clock, on_reject=rejected.append)
    outcome = p.handle(1, poison=False)
    assert outcome.kind == "processed" and clock.now >= 5.0
    # parked: asked the open breaker every poll, and was turned away each time
    assert len(rejected) == p.breaker.rejected > 10 and set(rejected) == {1}  # type: ignore[union-attr]  # spec has a breaker
    states = [(t.old, t.new) for t in p.breaker.transitions]  # type: ignore[union-attr]  # spec has a breaker
    assert states[0] == ("closed", "open") and states[-1] == ("half_open", "closed")
    assert downstream.calls == [(1, "normal")]


def test_skip_to_dlq_while_the_breaker_is_open() -> None:
    clock = Clock()
    p = pipeline({**DLQ, "downstream": {}, "circuit_breaker": {"failure_threshold": 1, "reset_timeout": "10s"},
                  "fallback": "skip-to-dlq"}, Downstream(fail_until=100, clock=clock), clock)
    assert p.handle(1, poison=False) == Outcome("dead_letter", "exhausted", 1)  # the failure that trips it
    assert p.handle(2, poison=False) == Outcome("dead_letter", "breaker-open", 0)


def test_degraded_processing_while_the_breaker_is_open() -> None:
    clock = Clock()
    downstream = Downstream(fail_until=100, clock=clock)
    p = pipeline({"downstream": {}, "circuit_breaker": {"failure_threshold": 1, "reset_timeout": "10s"},
                  "fallback": "degrade"}, downstream, clock)
    p.handle(1, poison=False)
    assert p.handle(2, poison=False) == Outcome("processed", "degraded", 0)
    assert downstream.calls == [(2, "degraded")]


def test_a_parked_message_is_left_unprocessed_when_the_consumer_stops() -> None:
    clock = Clock()
    p = pipeline({"downstream": {}, "circuit_breaker": {"failure_threshold": 1, "reset_timeout": "10s"}},
                 Downstream(fail_until=100, clock=clock), clock, stopping=lambda: clock.now > 3)
    p.handle(1, poison=False)
    assert p.handle(2, poison=False).kind == "parked"


def test_idempotency_store_skips_the_side_effect_of_a_redelivery() -> None:
    downstream = Downstream()
    p = pipeline({"downstream": {}, "idempotency": {"store": "memory"}}, downstream, store=MemoryStore())
    p.handle(5, poison=False)
    assert p.handle(5, poison=False).kind == "processed"
    assert downstream.calls == [(5, "normal")]
