"""Exponential backoff with the four jitter strategies of the AWS Architecture Blog
("Exponential Backoff And Jitter"): none, full, equal, decorrelated."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Literal

Jitter = Literal["none", "full", "equal", "decorrelated"]


@dataclass(frozen=True)
class Backoff:
    base: float                 # seconds
    cap: float                  # seconds: no single delay is longer
    jitter: Jitter = "full"
    max_attempts: int = 5       # attempts in all, the first included

    def __post_init__(self) -> None:
        if self.base <= 0 or self.cap < self.base:
            raise ValueError("backoff needs 0 < base <= max")
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def delays(self, rng: random.Random) -> Iterator[float]:
        """The wait before each retry: max_attempts - 1 values."""
        previous = self.base
        for retry in range(self.max_attempts - 1):
            ceiling = min(self.cap, self.base * 2 ** retry)
            if self.jitter == "none":
                delay = ceiling
            elif self.jitter == "full":
                delay = rng.uniform(0, ceiling)
            elif self.jitter == "equal":
                delay = ceiling / 2 + rng.uniform(0, ceiling / 2)
            else:  # decorrelated: grows from the previous delay, not from the attempt number
                delay = min(self.cap, rng.uniform(self.base, previous * 3))
                previous = delay
            yield delay
