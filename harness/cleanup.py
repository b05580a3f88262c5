"""Find and end what a killed run left behind, and nothing else.

Every process the harness starts carries AFTERSHOCK_RUN_ID in its environment; every live
orchestrator holds a marker file naming its pid. A tagged process whose run has no live
orchestrator is a leftover.
"""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import psutil

from harness.paths import runs_dir
from harness.runtimes.local import RUN_ID_ENV


class RunMarker:
    """Marks a run as alive for as long as the orchestrator runs."""

    def __init__(self, run_id: str, out_dir: Path) -> None:
        self.path = runs_dir() / f"{run_id}.json"
        self.run_id = run_id
        self.out_dir = out_dir

    def __enter__(self) -> "RunMarker":
        self.path.write_text(json.dumps({"pid": os.getpid(), "out": str(self.out_dir)}))
        return self

    def __exit__(self, *exc: object) -> None:
        self.path.unlink(missing_ok=True)


def live_runs() -> set[str]:
    alive = set()
    for marker in runs_dir().glob("*.json"):
        try:
            pid = json.loads(marker.read_text())["pid"]
        except (OSError, ValueError, KeyError):
            pid = None
        if pid and psutil.pid_exists(pid):
            alive.add(marker.stem)
        else:
            marker.unlink(missing_ok=True)
    return alive


def tagged_processes() -> dict[int, str]:
    """pid -> run id for every process carrying the run-id tag."""
    found = {}
    for proc in psutil.process_iter(["pid"]):
        try:
            run_id = proc.environ().get(RUN_ID_ENV)
        except (psutil.Error, OSError):
            continue
        if run_id:
            found[proc.pid] = run_id
    return found


def cleanup(all_runs: bool = False, keep: str | None = None) -> list[str]:
    """End leftovers of dead runs (of every run but `keep` with all_runs). Returns what was ended."""
    alive = live_runs()
    ended = []
    for pid, run_id in tagged_processes().items():
        if run_id == keep or (run_id in alive and not all_runs) or pid == os.getpid():
            continue
        try:
            proc = psutil.Process(pid)
            desc = " ".join(proc.cmdline())[:100]
            os.kill(pid, signal.SIGCONT)  # a paused process must be able to die
            os.kill(pid, signal.SIGKILL)
            ended.append(f"{run_id}: pid {pid} {desc}")
        except (psutil.Error, ProcessLookupError):
            continue
    return ended
