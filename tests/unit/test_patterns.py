"""Fault-tolerance patterns with synthetic clocks: backoff bounds, breaker states, idempotency."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.patterns.backoff import Backoff
from harness.patterns.breaker import CircuitBreaker
from harness.patterns.idempotency import MemoryStore, SqliteStore


def test_backoff_without_jitter_doubles_up_to_the_cap() -> None:
    delays = list(Backoff(base=0.1, cap=1.0, jitter="none", max_attempts=7).delays(random.Random(1)))
    assert delays == pytest.approx([0.1, 0.2, 0.4, 0.8, 1.0, 1.0])


@pytest.mark.parametrize("seed", range(20))
def test_full_jitter_stays_between_zero_and_the_exponential_ceiling(seed: int) -> None:
    delays = list(Backoff(base=0.1, cap=2.0, jitter="full", max_attempts=8).delays(random.Random(seed)))
    ceilings = [min(2.0, 0.1 * 2 ** k) for k in range(7)]
    assert all(0 <= d <= c for d, c in zip(delays, ceilings))


@pytest.mark.parametrize("seed", range(20))
def test_equal_jitter_keeps_at_least_half_the_ceiling(seed: int) -> None:
    delays = list(Backoff(base=0.1, cap=2.0, jitter="equal", max_attempts=8).delays(random.Random(seed)))
    ceilings = [min(2.0, 0.1 * 2 ** k) for k in range(7)]
    assert all(c / 2 <= d <= c for d, c in zip(delays, ceilings))


@pytest.mark.parametrize("seed", range(20))
def test_decorrelated_jitter_grows_from_the_previous_delay_and_respects_the_cap(seed: int) -> None:
    delays = list(Backoff(base=0.1, cap=1.5, jitter="decorrelated", max_attempts=10).delays(random.Random(seed)))
    previous = 0.1
    for delay in delays:
        assert 0.1 <= delay <= min(1.5, previous * 3)
        previous = delay


def test_backoff_gives_one_delay_per_retry_and_is_seeded() -> None:
    backoff = Backoff(base=0.1, cap=5, jitter="full", max_attempts=5)
    assert len(list(backoff.delays(random.Random(3)))) == 4
    assert list(backoff.delays(random.Random(3))) == list(backoff.delays(random.Random(3)))


def test_backoff_refuses_impossible_settings() -> None:
    with pytest.raises(ValueError):
        Backoff(base=2, cap=1)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_breaker_opens_after_the_threshold_and_rejects_calls() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10, clock=clock)
    for _ in range(2):
        assert breaker.allow()
        breaker.record_failure()
    assert breaker.state == "closed"
    breaker.record_failure()
    assert breaker.state == "open" and not breaker.allow() and breaker.rejected == 1


def test_a_success_resets_the_consecutive_failure_count() -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10, clock=Clock())
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    assert breaker.state == "closed"


def test_breaker_half_opens_after_the_reset_timeout_and_closes_on_success() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10, half_open_max_calls=1, clock=clock)
    breaker.record_failure()
    clock.now = 9.9
    assert not breaker.allow()
    clock.now = 10.0
    assert breaker.allow() and breaker.state == "half_open"
    assert not breaker.allow()  # only one trial call at a time
    breaker.record_success()
    assert breaker.state == "closed" and breaker.allow()
    assert [(t.at, t.old, t.new) for t in breaker.transitions] == [
        (0.0, "closed", "open"), (10.0, "open", "half_open"), (10.0, "half_open", "closed")]
    assert breaker.trips == 1


def test_a_failed_trial_call_opens_the_breaker_again_for_a_full_timeout() -> None:
    clock = Clock()
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5, clock=clock)
    breaker.record_failure()
    clock.now = 5
    assert breaker.allow()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.now = 9
    assert not breaker.allow()
    clock.now = 10
    assert breaker.allow() and breaker.trips == 2


def test_sqlite_store_remembers_across_a_crash_and_memory_store_forgets(tmp_path: Path) -> None:
    effects: list[int] = []
    store = SqliteStore(tmp_path / "processed.db")
    assert store.process_once(7, lambda: effects.append(7))
    store.close()  # the consumer dies; its replacement opens the same file
    again = SqliteStore(tmp_path / "processed.db")
    assert not again.process_once(7, lambda: effects.append(7))
    again.close()
    memory = MemoryStore()
    assert memory.process_once(7, lambda: effects.append(7))
    assert MemoryStore().process_once(7, lambda: effects.append(7))  # a fresh process remembers nothing
    assert effects == [7, 7, 7]


def test_a_failed_side_effect_is_not_marked_processed(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "processed.db")

    def fail() -> None:
        raise ConnectionError("downstream down")

    with pytest.raises(ConnectionError):
        store.process_once(1, fail)
    assert store.process_once(1, lambda: None)  # the redelivery is processed
    store.close()
