"""Checkers over a run's ledger; importing this package registers every one of them, the built-in
ones and those of installed plugins (the `aftershock.checkers` entry point)."""

from __future__ import annotations

from pathlib import Path

# Registration order is the order of findings in every report (the last three came later): not sorted.
# isort: off
from harness.check import (  # noqa: F401  (registration)
    availability, consumer_patterns, dead_letters, delivery, faults, lag, latency, order, outbox, recovery,
    side_effects, timeseries, ledger_integrity, held, effects,
)
# isort: on
from harness.check.base import CHECKERS, Checker, Finding, register
from harness.check.history import History
from harness.plugins import load_entry_points

load_entry_points("aftershock.checkers")   # checkers of installed plugins, after the built-in ones
METRICS: tuple[str, ...] = tuple(name for cls in CHECKERS.values() for name in cls.metrics)
"""Every figure a scenario may name in `expect:`."""

__all__ = ["METRICS", "CHECKERS", "Checker", "Finding", "History", "check_history", "merged_metrics", "register"]


def check_history(ledger_dir: Path, load_window_ns: tuple[int, int] | None = None) -> list[Finding]:
    """Runs every registered checker; one that raises reports all its metrics as unknown, never as a pass."""
    try:
        history = History(Path(ledger_dir), load_window_ns).__enter__()
    except Exception as exc:  # noqa: BLE001 - the ledger itself is unreadable: every checker is unknown
        return [_unknown(cls, exc) for cls in CHECKERS.values()]
    try:
        findings = []
        for cls in CHECKERS.values():
            try:
                findings.append(cls().check(history))
            except Exception as exc:  # noqa: BLE001 - a crashed checker reports its metrics unknown, never a pass
                findings.append(_unknown(cls, exc))
        return findings
    finally:
        history.close()


def merged_metrics(findings: list[Finding]) -> dict[str, int | float | None]:
    """All metrics of all findings in one flat dict (metric names are unique across checkers)."""
    merged: dict[str, int | float | None] = {}
    for finding in findings:
        merged.update(finding.metrics)
    return merged


def _unknown(cls: type[Checker], exc: Exception) -> Finding:
    return Finding(checker=cls.name, metrics={name: None for name in cls.metrics}, samples={}, error=repr(exc))
