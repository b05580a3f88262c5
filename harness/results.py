"""The outcome of one run: what the reporters render. Built once, after the check."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from harness.judge import ExpectationResult, Verdict
from harness.ledger.journal import FaultRecord

COUNTS = ("attempted", "acknowledged", "delivered", "lost", "dropped", "undelivered", "duplicated", "unexpected",
          "recovered")


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
    settings: dict[str, Any] = field(default_factory=dict)   # the scenario's settings as the cluster reported them
    error: str | None = None  # why the run itself could not finish (verdict "error")
    load_start_ns: int | None = None   # time zero of every series and of the fault times
    environment: dict[str, str] = field(default_factory=dict)   # the machine it ran on
    process_exits: list[dict[str, Any]] = field(default_factory=list)   # unplanned exits (harness.watchdog)
    variant: str = ""          # the matrix variant it ran ("version=4.1.1, acks=all"), "" without a matrix
    variant_why: str = ""      # why that variant's expectations differ from the scenario's (matrix_expect)
    advice: list[str] = field(default_factory=list)   # validation's warnings: faults that may not bite
    second_opinion: dict[str, Any] | None = None   # the broker's own count beside the ledgers' (second_opinion.py)

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
            "settings": self.settings,
            "error": self.error,
            "out_dir": self.out_dir,
            "load_start_ns": self.load_start_ns,
            "environment": self.environment,
            "process_exits": self.process_exits,
            "variant": self.variant,
            "variant_why": self.variant_why,
            "advice": self.advice,
            "second_opinion": self.second_opinion,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> RunResult:
        """Back from results.json, so reports can be regenerated from a run directory."""
        verdict = Verdict(data["verdict"], [ExpectationResult(**e) for e in data.get("expectations", [])])
        return cls(
            scenario=data["scenario"], description=data.get("description", ""), run_id=data["run_id"],
            seed=data.get("seed", 0), out_dir=data.get("out_dir", ""), started=data.get("started", ""),
            duration_s=data.get("duration_s", 0.0), verdict=verdict, metrics=data.get("metrics", {}),
            faults=[FaultRecord(**f) for f in data.get("faults", [])], schedule=data.get("schedule", {}),
            samples=data.get("samples", {}), checker_errors=data.get("checker_errors", {}),
            load_stats=data.get("load_stats"), versions=data.get("versions", {}),
            settings=data.get("settings", {}), error=data.get("error"),
            load_start_ns=data.get("load_start_ns"), environment=data.get("environment", {}),
            process_exits=data.get("process_exits", []), variant=data.get("variant", ""),
            variant_why=data.get("variant_why", ""), advice=data.get("advice", []),
            second_opinion=data.get("second_opinion"),
        )


def machine_environment() -> dict[str, str]:
    """What a reader needs to judge or reproduce a run: interpreter, OS, machine size."""
    import os
    import platform

    return {"python": platform.python_version(), "platform": platform.platform(), "host": platform.node(),
            "cpus": str(os.cpu_count()), "machine": platform.machine()}
