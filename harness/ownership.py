"""Who owns a run, and whether it is alive, decided from the process table alone.

A run's owner is the orchestrator process executing it, written `<pid>:<start time>` (psutil's
create_time, two decimals): a pid alone is reused, a pid with its start time names one process for
the life of the machine. A run is alive iff a process with that pid and that start time exists; no
user's HOME or cache is consulted, so `aftershock cleanup` under sudo, CI or another
AFTERSHOCK_CACHE leaves a live run alone. Everything a run creates carries its owner:

- processes: AFTERSHOCK_RUN_OWNER in their environment, beside AFTERSHOCK_RUN_ID;
- containers, Docker networks and volumes: the labels dev.aftershock.owner and dev.aftershock.host;
- namespaces, veths, the bridge and its FORWARD rule, which are named after 8 hex characters of the
  run id (all a 15-character interface name leaves room for) and so cannot carry more: an owner
  record `<name>.json` ({"run_id", "owner"}) in /run/aftershock/ (tmpfs like /run/netns, emptied at
  boot with the namespaces, readable by every user), written before the first of them is created and
  removed after the last is gone. A tag with no live record is orphaned.

One orchestrator may execute several runs in turn (a matrix, --repeat, the pytest plugin), so run ids
stay random per run and the owner alone cannot tell a finished run of a live orchestrator from a
running one: the orchestrator itself knows which of its runs hold an open record (`executing`), so
its next run's cleanup ends what an earlier run of its own left. Another orchestrator's finished
runs are left until that orchestrator ends (or cleans up itself). Processes without an owner (an
older harness, a hand-made tag) are alive iff a record of their run has a live owner.

Limit: pids are as this PID namespace sees them; a cleanup from another PID namespace sharing the
host's network (a container with --network host) cannot see owners and must not be run there.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterable, Mapping
from pathlib import Path

import psutil

from harness.paths import run_records_dir, run_records_dirs

OWNER_ENV = "AFTERSHOCK_RUN_OWNER"
LABEL = "dev.aftershock.run"           # on every container, network and volume: the run it belongs to
OWNER_LABEL = "dev.aftershock.owner"
HOST_LABEL = "dev.aftershock.host"
_SAME_START = 0.05   # seconds: create_time is exact to the clock tick (10 ms); two decimals are written

_executing: dict[str, int] = {}   # run id -> OwnerRecords open in this process


def this_owner() -> str:
    """This process as an owner: `<pid>:<start time>`."""
    return f"{os.getpid()}:{psutil.Process().create_time():.2f}"


def this_host() -> str:
    return socket.gethostname()


def parse_owner(owner: str | None) -> tuple[int, float] | None:
    try:
        pid, started = str(owner).split(":")
        return int(pid), float(started)
    except ValueError:
        return None


def process_table() -> dict[int, float]:
    """pid -> start time of every process here."""
    table = {}
    for proc in psutil.process_iter(["create_time"]):
        started = proc.info.get("create_time")
        if started is not None:
            table[proc.pid] = started
    return table


def owner_alive(owner: str | None, table: Mapping[int, float], me: str, run_id: str,
                executing: set[str]) -> bool:
    """The decision: `owner` (of run `run_id`) is a process in `table`, with the same start time; when
    the owner is this process (`me`), the run must also still be executing here."""
    parsed = parse_owner(owner)
    if parsed is None:
        return False
    if owner == me:
        return run_id in executing
    pid, started = parsed
    return pid in table and abs(table[pid] - started) < _SAME_START


def live_runs(records: Iterable[tuple[str, str | None]], table: Mapping[int, float], me: str,
              executing: set[str]) -> set[str]:
    """Run ids with at least one record whose owner is alive (or cannot be read: never end on doubt)."""
    return {run_id for run_id, owner in records
            if owner is None or owner_alive(owner, table, me, run_id, executing)}


def process_orphaned(run_id: str, owner: str | None, alive: set[str], table: Mapping[int, float], me: str,
                     executing: set[str]) -> bool:
    """A tagged process is a leftover iff its owner is gone (or, lacking an owner, its run has no live record)."""
    if owner is None:
        return run_id not in alive
    return not owner_alive(owner, table, me, run_id, executing)


def read_records() -> list[tuple[str, str | None]]:
    """(run id, owner) of every record in the places runs write them; owner None: unreadable."""
    found: list[tuple[str, str | None]] = []
    for directory in run_records_dirs():
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            try:
                record = json.loads(path.read_text())
                found.append((str(record["run_id"]), str(record["owner"])))
            except FileNotFoundError:
                continue   # removed by its owner meanwhile
            except (OSError, ValueError, KeyError, TypeError):
                found.append((path.name.split(".")[0], None))
    return found


def forget_dead_records(table: Mapping[int, float], me: str, running: set[str]) -> list[str]:
    """Remove the records a killed orchestrator left (its owner is gone); unreadable ones stay."""
    removed = []
    for directory in run_records_dirs():
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            try:
                record = json.loads(path.read_text())
                dead = not owner_alive(str(record["owner"]), table, me, str(record["run_id"]), running)
            except (OSError, ValueError, KeyError, TypeError):
                continue
            if dead:
                path.unlink(missing_ok=True)
                removed.append(f"record {path}")
    return removed


def executing() -> set[str]:
    """This process's runs that hold an open record."""
    return {run_id for run_id, count in _executing.items() if count > 0}


class OwnerRecord:
    """Says, for as long as it is open, that this process owns run `run_id` (and what is named after
    its tag): written atomically before anything is created, removed after everything is gone."""

    def __init__(self, run_id: str, suffix: str = "run") -> None:
        self.run_id = run_id
        self.name = f"{run_id}.{suffix}.json"
        self.path: Path | None = None

    def __enter__(self) -> OwnerRecord:
        directory = run_records_dir()
        tmp = directory / f".{self.name}.{os.getpid()}.tmp"
        tmp.write_text(json.dumps({"run_id": self.run_id, "owner": this_owner(), "host": this_host()}))
        tmp.chmod(0o644)
        self.path = directory / self.name
        tmp.replace(self.path)
        _executing[self.run_id] = _executing.get(self.run_id, 0) + 1
        return self

    def __exit__(self, *exc: object) -> None:
        if self.path is None:
            return
        self.path.unlink(missing_ok=True)
        self.path = None
        _executing[self.run_id] -= 1
        if _executing[self.run_id] <= 0:
            del _executing[self.run_id]


def run_labels(run_id: str) -> dict[str, str]:
    """What every container, network and volume of a run carries: its run, owner and host."""
    return {LABEL: run_id, OWNER_LABEL: this_owner(), HOST_LABEL: this_host()}
