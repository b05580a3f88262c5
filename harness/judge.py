"""Turns checker metrics into a verdict against the scenario's expectations (Jepsen: fail > unknown > pass)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

Number = int | float


@dataclass(frozen=True)
class Expectation:
    """A bound on one metric: `exact`, or `min` and/or `max` (inclusive)."""

    name: str
    exact: Number | None = None
    min: Number | None = None
    max: Number | None = None

    def __post_init__(self) -> None:
        if self.exact is not None and (self.min is not None or self.max is not None):
            raise ValueError(f"expectation {self.name!r}: give either exact or min/max, not both")
        if self.min is not None and self.max is not None and self.min > self.max:
            raise ValueError(f"expectation {self.name!r}: min {self.min} is above max {self.max}")

    def describe(self) -> str:
        if self.exact is not None:
            return _number(self.exact)
        if self.min is not None and self.max is not None:
            return f"{_number(self.min)}..{_number(self.max)}"
        if self.min is not None:
            return f">= {_number(self.min)}"
        if self.max is not None:
            return f"<= {_number(self.max)}"
        return "any"

    def holds_for(self, actual: Number) -> bool:
        if self.exact is not None:
            return actual == self.exact
        return (self.min is None or actual >= self.min) and (self.max is None or actual <= self.max)


@dataclass
class ExpectationResult:
    name: str
    expected: str
    actual: Number | None
    ok: bool | None  # None: unknown, the metric is missing or its checker failed


@dataclass
class Verdict:
    verdict: str  # "pass" | "fail" | "error"
    expectations: list[ExpectationResult]


def judge(expectations: list[Expectation], metrics: Mapping[str, Number | None]) -> Verdict:
    """A violated expectation fails the run; otherwise an unknown metric makes it an error, never a pass."""
    results = []
    for expectation in expectations:
        actual = metrics.get(expectation.name)
        ok = None if actual is None else expectation.holds_for(actual)
        results.append(ExpectationResult(expectation.name, expectation.describe(), actual, ok))
    if any(result.ok is False for result in results):
        verdict = "fail"
    elif any(result.ok is None for result in results):
        verdict = "error"
    else:
        verdict = "pass"
    return Verdict(verdict, results)


def _number(value: Number) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
