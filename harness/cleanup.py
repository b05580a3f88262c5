"""Find and end what a killed run left behind, and nothing else, whoever started it.

Every process the harness starts carries AFTERSHOCK_RUN_ID and AFTERSHOCK_RUN_OWNER (its
orchestrator's pid and start time) in its environment; every container, Docker network and volume
the run, owner and host labels; every namespace and link the run's tag, with an owner record in
/run/aftershock. A tagged thing is a leftover iff its owner is no longer in the process table:
harness.ownership makes that decision (and documents its limits); nothing here reads a
per-user directory to decide it. Docker leftovers are removed only from a local engine.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import psutil

from harness.network.namespaces import run_tag
from harness.ownership import (
    OWNER_ENV,
    OwnerRecord,
    executing,
    forget_dead_records,
    live_runs,
    process_orphaned,
    process_table,
    read_records,
    this_owner,
)
from harness.runtimes.local import RUN_ID_ENV


class RunMarker(OwnerRecord):
    """Marks a run as alive, for every user's cleanup, for as long as its orchestrator executes it."""

    def __init__(self, run_id: str, out_dir: Path) -> None:
        super().__init__(run_id, "run")
        self.out_dir = out_dir


def tagged_processes() -> dict[int, str]:
    """pid -> run id for every process carrying the run-id tag."""
    return {pid: run_id for pid, (run_id, _) in _tagged().items()}


def _tagged() -> dict[int, tuple[str, str | None]]:
    """pid -> (run id, owner or None) for every process carrying the run-id tag."""
    found = {}
    for proc in psutil.process_iter(["pid"]):
        try:
            env = proc.environ()
        except (psutil.Error, OSError):
            continue
        if env.get(RUN_ID_ENV):
            found[proc.pid] = (env[RUN_ID_ENV], env.get(OWNER_ENV))
    return found


def network_leftovers(alive_tags: set[str]) -> list[tuple[str, str]]:
    """(kind, name) of namespaces and links named after runs that are not alive."""
    found = []
    namespaces = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, timeout=20).stdout
    for name in re.findall(r"^(as-([0-9a-f]{8})-n\d+)", namespaces, re.M):
        if name[1] not in alive_tags:
            found.append(("netns", name[0]))
    if shutil.which("iptables"):
        forward = subprocess.run(["iptables", "-S", "FORWARD"], capture_output=True, text=True, timeout=20).stdout
        for tag in re.findall(r"^-A FORWARD -i as([0-9a-f]{8})br -o as\1br -j ACCEPT$", forward, re.M):
            if tag not in alive_tags:
                found.append(("forward", f"as{tag}br"))
    links = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, timeout=20).stdout
    for name in re.findall(r"^\d+: (as([0-9a-f]{8})(?:br|v\d+))[@:]", links, re.M):
        if name[1] not in alive_tags:
            found.append(("link", name[0]))
    return found


def cleanup(all_runs: bool = False, keep: str | None = None) -> list[str]:
    """End leftovers of runs whose orchestrator is gone (of every run but `keep` with all_runs).
    Returns what was ended."""
    table, me, running = process_table(), this_owner(), executing()
    alive = live_runs(read_records(), table, me, running)
    ended = _end_processes(alive, table, me, running, all_runs, keep)
    if shutil.which("ip"):
        alive_tags = {run_tag(r) for r in alive if not all_runs} | ({run_tag(keep)} if keep else set())
        order = {"forward": 0, "link": 1, "netns": 2}
        for kind, name in sorted(network_leftovers(alive_tags), key=lambda kn: order[kn[0]]):
            argv = {"link": ["ip", "link", "del", name], "netns": ["ip", "netns", "del", name],
                    "forward": ["iptables", "-D", "FORWARD", "-i", name, "-o", name, "-j", "ACCEPT"]}[kind]
            if subprocess.run(argv, capture_output=True, timeout=20).returncode == 0:
                ended.append(f"{kind} {name}")
    from harness.runtimes.docker import remove_leftovers

    ended += remove_leftovers(table, me, running, all_runs, keep)
    forget_dead_records(table, me, running)   # after what they named is gone
    return ended


def _end_processes(alive: set[str], table: dict[int, float], me: str, running: set[str], all_runs: bool,
                   keep: str | None) -> list[str]:
    ended = []
    for pid, (run_id, owner) in _tagged().items():
        if run_id == keep or pid == os.getpid():
            continue
        if not all_runs and not process_orphaned(run_id, owner, alive, table, me, running):
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
