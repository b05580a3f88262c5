"""Turns checker metrics into a verdict against the scenario's expectations (Jepsen: fail > unknown > pass)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.check.held import BROKER_STATE

if TYPE_CHECKING:
    from harness.scenario.model import Scenario

Number = int | float


@dataclass(frozen=True)
class Expectation:
    """A bound on one metric: `exact`, or `min` and/or `max` (inclusive)."""

    name: str
    exact: Number | None = None
    min: Number | None = None
    max: Number | None = None
    inconclusive: bool = False   # a miss means the run proved nothing, not that the system failed

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
    verdict: str  # "pass" | "fail" | "error" | "inconclusive"
    expectations: list[ExpectationResult]


def expectations(scenario: Scenario, metrics: Mapping[str, Any] | None = None) -> list[Expectation]:
    """The scenario's own, plus `faults_failed == 0` when it has faults and says nothing of it:
    a run whose faults did not happen must not pass as if they had; and `dropped == 0` when a limit
    dropped acknowledged messages the scenario did not expect to lose so (dropped is not lost, but
    it is not delivered either)."""
    out = []
    for name, value in scenario.expect.items():
        if isinstance(value, (int, float)):
            out.append(Expectation(name, exact=value))
        else:   # a Bound
            out.append(Expectation(name, min=value.min, max=value.max))
    if (scenario.faults or scenario.nemesis) and "faults_failed" not in scenario.expect:
        out.append(Expectation("faults_failed", exact=0))
    if metrics is not None and metrics.get("dropped") and "dropped" not in scenario.expect:
        out.append(Expectation("dropped", exact=0))
    # Every fault on a leader must be seen to move or stop its leadership, where the cluster's view was
    # recorded; a scenario bounding faults_without_effect itself says how many may not.
    if metrics is not None and metrics.get("faults_without_effect") is not None \
            and "faults_without_effect" not in scenario.expect:
        out.append(Expectation("faults_without_effect", exact=0, inconclusive=True))
    return out


def unjudgeable(metrics: Mapping[str, Any], out_dir: Path) -> str | None:
    """Why a finished run's history cannot support a verdict, or None: it sent nothing, its
    consumers stopped short of what the broker held (so no loss can be judged), or a ledger row
    could not be read."""
    if not metrics.get("acknowledged"):
        return f"no message was acknowledged, so nothing was tested: see {out_dir / 'load.log'}"
    if metrics.get("broker_held"):
        return (f"the consumers stopped short: when the drain ended the broker still held"
                f" {metrics['broker_held']} message(s) no consumer had taken ({metrics.get('undelivered')}"
                " acknowledged, never delivered ones among them, counted undelivered, not lost);"
                f" see {out_dir / 'consumers'} and {out_dir / BROKER_STATE}")
    if metrics.get("ledger_rejected_rows"):
        # A complete row that does not parse is a record the checkers never saw: it could hide a delivery.
        return (f"{metrics['ledger_rejected_rows']} complete ledger row(s) could not be read, so the history is"
                f" incomplete: see samples['ledger_integrity.rejected'] and {out_dir / 'ledger'}")
    return None


def judge(expectations: list[Expectation], metrics: Mapping[str, Number | None]) -> Verdict:
    """A violated expectation fails the run; otherwise an unknown metric makes it an error, and a
    missed effect (an `inconclusive` expectation: a fault that did not bite) inconclusive; never a pass."""
    results = []
    for expectation in expectations:
        actual = metrics.get(expectation.name)
        ok = None if actual is None else expectation.holds_for(actual)
        results.append(ExpectationResult(expectation.name, expectation.describe(), actual, ok))
    missed = {e.name for e, r in zip(expectations, results, strict=True) if r.ok is False and e.inconclusive}
    if any(result.ok is False and result.name not in missed for result in results):
        verdict = "fail"
    elif any(result.ok is None for result in results):
        verdict = "error"
    elif missed:
        verdict = "inconclusive"
    else:
        verdict = "pass"
    return Verdict(verdict, results)


def _number(value: Number) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)
