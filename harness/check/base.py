"""The checker interface: a checker answers one question about a History and returns a Finding."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol, TypeVar

if TYPE_CHECKING:
    from harness.check.history import History

MetricValue = int | float | None
SAMPLE_LIMIT = 20


@dataclass
class Finding:
    """What one checker measured; `error` set means its metrics are unknown (None), never a pass."""

    checker: str
    metrics: dict[str, MetricValue]
    samples: dict[str, list[dict]] = field(default_factory=dict)  # up to SAMPLE_LIMIT rows per anomaly kind
    error: str | None = None


class Checker(Protocol):
    """Pure function over the ledger: never touches the cluster, so it is testable on synthetic histories."""

    name: str
    metrics: tuple[str, ...]  # every metric name check() reports, so a crash can report them all as unknown

    def check(self, history: History) -> Finding: ...


CHECKERS: dict[str, type[Checker]] = {}

C = TypeVar("C", bound=type[Checker])


def register(cls: C) -> C:
    """Class decorator adding a checker to CHECKERS under `cls.name`; metric names must stay unique."""
    name: str = cls.name
    metrics: tuple[str, ...] = cls.metrics
    for other_name, other in CHECKERS.items():
        clash = set(metrics) & set(other.metrics)
        if other_name != name and clash:
            raise ValueError(f"checker {name!r} reuses metric names of {other_name!r}: {sorted(clash)}")
    CHECKERS[name] = cls
    return cls
