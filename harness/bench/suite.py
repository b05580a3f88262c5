"""Runs the selected benchmarks one after another, each in its own scratch directory, and judges
their goals; a benchmark that fails is recorded with its error and the others still run."""

from __future__ import annotations

import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from harness.bench import checker, clusters, kafka_produce, latency_overhead, rabbitmq_publish  # noqa: F401  (registration: one import per benchmark module)
from harness.bench.base import BENCHMARKS, BenchContext, Benchmark, Figure, Goal


@dataclass(frozen=True)
class JudgedGoal:
    goal: Goal
    value: Figure | None
    met: bool | None        # None: not judged (smoke run, failed benchmark, figure not measured)

    def as_json(self) -> dict[str, object]:
        return self.goal.as_json() | {"value": self.value, "met": self.met}


@dataclass
class BenchResult:
    name: str
    summary: str
    seed: int
    seconds: float
    figures: dict[str, Figure]
    goals: list[JudgedGoal]
    error: str | None = None

    @property
    def goals_met(self) -> bool | None:
        """False if one goal was missed; None if a goal was not judged (smoke run, failure, figure missing)."""
        verdicts = [judged.met for judged in self.goals]
        if False in verdicts:
            return False
        return None if None in verdicts or not verdicts else True

    def as_json(self) -> dict[str, object]:
        return {"summary": self.summary, "seed": self.seed, "seconds": self.seconds, "figures": self.figures,
                "goals": [judged.as_json() for judged in self.goals], "goals_met": self.goals_met, "error": self.error}


def run_suite(names: list[str], smoke: bool, log: Callable[[str], None]) -> list[BenchResult]:
    """`names` in order, each a key of BENCHMARKS. Goals are judged on full runs only: smoke sizes
    say nothing about the goals' sizes."""
    return [run_benchmark(BENCHMARKS[name](), smoke, log) for name in names]


def run_benchmark(benchmark: Benchmark, smoke: bool, log: Callable[[str], None]) -> BenchResult:
    """Never raises for the benchmark's own failure: it is recorded (traceback logged) as the result's error."""
    log(f"{benchmark.name}: {benchmark.summary}{' (smoke)' if smoke else ''}")
    started = time.perf_counter()
    figures: dict[str, Figure] = {}
    error = None
    with tempfile.TemporaryDirectory(prefix=f"aftershock-bench-{benchmark.name}-") as scratch:
        try:
            figures = benchmark.run(BenchContext(smoke=smoke, workdir=Path(scratch), log=log))
        except Exception as exc:  # noqa: BLE001 - a benchmark's failure is its result's error, not the suite's
            log(traceback.format_exc())
            error = f"{type(exc).__name__}: {exc}"
    goals = [JudgedGoal(goal, figures.get(goal.metric), None if smoke or error else goal.met(figures))
             for goal in benchmark.goals]
    return BenchResult(benchmark.name, benchmark.summary, benchmark.seed, round(time.perf_counter() - started, 1),
                       figures, goals, error)
