"""What a sample consumer does with one message, whatever the broker: poison check, simulated
work with transient failures, the downstream call behind a circuit breaker and an idempotency
store, retries with backoff, and the fallback while the breaker is open.

Broker-agnostic and clock-injected: the consumers wrap it, the unit tests drive it directly.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from harness.patterns.backoff import Backoff
from harness.patterns.breaker import CircuitBreaker
from harness.patterns.idempotency import ProcessedStore
from harness.scenario.sections import ConsumerSpec

PARK_POLL = 0.1


class TransientFailure(Exception):
    """The simulated processing failed this time; a retry may succeed."""


class DownstreamFailure(Exception):
    """The downstream call failed or timed out."""


@dataclass(frozen=True)
class Outcome:
    kind: Literal["processed", "dead_letter", "dropped", "parked"]
    reason: str = ""
    attempts: int = 1


class Pipeline:
    def __init__(self, spec: ConsumerSpec, rng: random.Random,
                 call_downstream: Callable[[int, str], None] | None = None,
                 store: ProcessedStore | None = None,
                 sleep: Callable[[float], None] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 stopping: Callable[[], bool] = lambda: False,
                 on_retry: Callable[[int, int, float, str], None] = lambda *_: None,
                 on_transition: Callable[[str, str], None] = lambda *_: None,
                 on_reject: Callable[[int], None] = lambda _: None) -> None:
        self.spec = spec
        self.rng = rng
        self.call_downstream = call_downstream
        self.store = store
        self.sleep = sleep
        self.stopping = stopping
        self.on_retry = on_retry
        self.on_reject = on_reject
        retry = spec.retry
        self.backoff = Backoff(retry.base, retry.max, retry.jitter, retry.max_attempts)
        cb = spec.circuit_breaker
        self.breaker = (CircuitBreaker(cb.failure_threshold, cb.reset_timeout, cb.half_open_max_calls, clock,
                                       on_transition) if cb is not None else None)

    def handle(self, message_id: int, poison: bool) -> Outcome:
        if poison:  # no attempt can ever succeed: straight to the DLQ, without burning retries
            return self._give_up("poison", 1)
        delays = self.backoff.delays(self.rng)
        attempts = 0
        while True:
            if self.breaker is not None and not self.breaker.allow():
                self.on_reject(message_id)
                outcome = self._breaker_open(message_id, attempts)
                if outcome is not None:
                    return outcome
                continue
            attempts += 1
            try:
                self._attempt(message_id, "normal")
                return Outcome("processed", attempts=attempts)
            except (TransientFailure, DownstreamFailure) as exc:
                delay = next(delays, None)
                if delay is None:
                    return self._give_up("exhausted", attempts)
                self.on_retry(message_id, attempts, delay, type(exc).__name__)
                self.sleep(delay)

    def _attempt(self, message_id: int, mode: str) -> None:
        if self.spec.processing.time:
            self.sleep(self.spec.processing.time)
        if self.rng.random() < self.spec.processing.fail_rate:
            raise TransientFailure()
        call_downstream = self.call_downstream
        if call_downstream is None:
            return

        def effect() -> None:
            try:
                call_downstream(message_id, mode)
            except Exception as exc:  # noqa: BLE001 - any failure of the call is a downstream failure
                if self.breaker is not None and mode == "normal":
                    self.breaker.record_failure()
                raise DownstreamFailure(str(exc)) from exc
            if self.breaker is not None and mode == "normal":
                self.breaker.record_success()

        if self.store is not None:
            self.store.process_once(message_id, effect)
        else:
            effect()

    def _breaker_open(self, message_id: int, attempts: int) -> Outcome | None:
        """The fallback; None means: parked a moment, ask the breaker again."""
        if self.spec.fallback == "skip-to-dlq":
            return self._give_up("breaker-open", attempts)
        if self.spec.fallback == "degrade":
            self._attempt(message_id, "degraded")
            return Outcome("processed", "degraded", attempts)
        if self.stopping():
            return Outcome("parked", "breaker-open", attempts)  # not done: left uncommitted, redelivered later
        self.sleep(PARK_POLL)
        return None

    def _give_up(self, reason: str, attempts: int) -> Outcome:
        return Outcome("dead_letter" if self.spec.dead_letter is not None else "dropped", reason, attempts)
