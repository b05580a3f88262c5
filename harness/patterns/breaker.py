"""A circuit breaker: closed -> open after `failure_threshold` consecutive failures -> half-open
after `reset_timeout` -> closed on a successful trial call, open again on a failed one.

The clock is injected, so the state machine is tested with a synthetic clock; every
transition is kept with its time for the ledger and the report's breaker timeline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

State = Literal["closed", "open", "half_open"]


@dataclass
class Transition:
    at: float
    old: State
    new: State


@dataclass
class CircuitBreaker:
    failure_threshold: int
    reset_timeout: float
    half_open_max_calls: int = 1
    clock: Callable[[], float] = time.monotonic
    on_transition: Callable[[State, State], None] = lambda old, new: None
    state: State = "closed"
    transitions: list[Transition] = field(default_factory=list)
    rejected: int = 0
    _failures: int = 0
    _opened_at: float = 0.0
    _trials: int = 0

    def allow(self) -> bool:
        """May a call go through now? Counts the calls it turns away."""
        if self.state == "open" and self.clock() - self._opened_at >= self.reset_timeout:
            self._move("half_open")
            self._trials = 0
        if self.state == "closed":
            return True
        if self.state == "half_open" and self._trials < self.half_open_max_calls:
            self._trials += 1
            return True
        self.rejected += 1
        return False

    def record_success(self) -> None:
        self._failures = 0
        if self.state == "half_open":
            self._move("closed")

    def record_failure(self) -> None:
        if self.state == "half_open":
            self._open()
            return
        self._failures += 1
        if self.state == "closed" and self._failures >= self.failure_threshold:
            self._open()

    def _open(self) -> None:
        self._opened_at = self.clock()
        self._failures = 0
        self._move("open")

    def _move(self, new: State) -> None:
        self.transitions.append(Transition(self.clock(), self.state, new))
        self.on_transition(self.state, new)
        self.state = new

    @property
    def trips(self) -> int:
        return sum(1 for t in self.transitions if t.new == "open")
