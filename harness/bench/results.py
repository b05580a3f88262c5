"""The results.json document: what ran, on which code and machine, when, and what it measured."""

from __future__ import annotations

import datetime
import json
import os
import subprocess
from pathlib import Path

from harness.bench.machine import machine_info
from harness.bench.suite import BenchResult

SCHEMA = 1
REPO = Path(__file__).resolve().parents[2]


def results_document(results: list[BenchResult], smoke: bool, command: str,
                     load_before: float | None) -> dict[str, object]:
    """`load_before`: the 1-minute load average when the suite started; with the one at its end it
    shows whether other work shared the CPUs (and the figures are low for that reason)."""
    return {
        "schema": SCHEMA,
        "date": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        "command": command,
        "git": git_state(),
        "machine": machine_info(),
        "load_average_1m": {"before": load_before, "after": load_average()},
        "smoke": smoke,
        "benchmarks": {result.name: result.as_json() for result in results},
    }


def load_average() -> float | None:
    return round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None


def write_results(document: dict[str, object], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def git_state() -> dict[str, object]:
    """The commit measured and whether the tree had uncommitted changes (None outside a git checkout)."""
    commit = _git("rev-parse", "HEAD")
    # --no-optional-locks: reading the state must never write the index under a concurrent git command.
    status = _git("--no-optional-locks", "status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": None if status is None else bool(status)}


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], cwd=REPO, capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
