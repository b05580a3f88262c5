"""The outcome of one run: what the reporters render. Built once, after the check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.faults.injector import FaultRecord
from harness.judge import Verdict

COUNTS = ("attempted", "acknowledged", "delivered", "lost", "duplicated", "unexpected", "recovered")


@dataclass
class RunResult:
    scenario: str
    description: str
    run_id: str
    seed: int
    out_dir: str
    started: str
    duration_s: float
    verdict: Verdict
    metrics: dict[str, Any]
    faults: list[FaultRecord] = field(default_factory=list)
    schedule: dict[str, Any] = field(default_factory=dict)
    samples: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    checker_errors: dict[str, str] = field(default_factory=dict)
    load_stats: dict[str, Any] | None = None
    versions: dict[str, str] = field(default_factory=dict)
    error: str | None = None  # why the run itself could not finish (verdict "error")

    @property
    def counts(self) -> dict[str, Any]:
        return {name: self.metrics.get(name) for name in COUNTS}

    def as_json(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "description": self.description,
            "verdict": self.verdict.verdict,
            "run_id": self.run_id,
            "seed": self.seed,
            "started": self.started,
            "duration_s": self.duration_s,
            "counts": self.counts,
            "metrics": self.metrics,
            "expectations": [asdict(e) for e in self.verdict.expectations],
            "schedule": self.schedule,
            "faults": [asdict(f) for f in self.faults],
            "samples": self.samples,
            "checker_errors": self.checker_errors,
            "load_stats": self.load_stats,
            "versions": self.versions,
            "error": self.error,
            "out_dir": self.out_dir,
        }
