"""The benchmark interface: a benchmark measures side by side in one run and returns named figures;
its goals are data, judged by the suite, so results.json says what was asked and what was met."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, TypeVar

Figure = int | float


class BenchmarkFailed(Exception):
    """The benchmark's own answers were wrong (e.g. the checker missed an injected anomaly): its
    figures mean nothing, and the suite fails."""


@dataclass(frozen=True)
class Goal:
    """A bound on one figure, e.g. Goal("records_per_s_10m", min=2_000_000)."""

    metric: str
    min: float | None = None
    max: float | None = None

    def met(self, figures: dict[str, Figure]) -> bool | None:
        """None when the figure was not measured: an unmeasured goal is never met."""
        value = figures.get(self.metric)
        if value is None:
            return None
        return (self.min is None or value >= self.min) and (self.max is None or value <= self.max)

    def describe(self) -> str:
        bounds = [f"{sign} {number(bound)}" for sign, bound in ((">=", self.min), ("<=", self.max))
                  if bound is not None]
        return " and ".join(bounds)

    def as_json(self) -> dict[str, object]:
        return {"metric": self.metric} | {k: v for k, v in (("min", self.min), ("max", self.max)) if v is not None}


def number(value: Figure) -> str:
    """A figure for people: thousands separated, three significant digits below 100."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


@dataclass(frozen=True)
class BenchContext:
    """What the suite gives a benchmark: the mode, a private scratch directory (deleted afterwards,
    under $TMPDIR) and a progress line printer."""

    smoke: bool
    workdir: Path
    log: Callable[[str], None]


class Benchmark(Protocol):
    """Full mode measures the sizes its goals speak of; smoke mode runs the same code on sizes that
    take seconds (goals are not judged there) so the suite cannot rot."""

    name: str            # what `--only` takes
    summary: str         # one line for the table and results.json
    seed: int            # fixed: the same run measures the same work
    goals: tuple[Goal, ...]

    def run(self, ctx: BenchContext) -> dict[str, Figure]: ...


BENCHMARKS: dict[str, type[Benchmark]] = {}

B = TypeVar("B", bound=type)


def register(cls: B) -> B:
    """Class decorator adding a benchmark to BENCHMARKS under `cls.name`."""
    name: str = cls.name  # type: ignore[attr-defined]  # benchmarks match the protocol by shape only
    if name in BENCHMARKS and BENCHMARKS[name] is not cls:
        raise ValueError(f"two benchmarks are named {name!r}: {BENCHMARKS[name].__module__} and {cls.__module__}")
    BENCHMARKS[name] = cls
    return cls
