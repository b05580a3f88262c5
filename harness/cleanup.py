"""Find and end what a killed run left behind, and nothing else.

Every process the harness starts carries AFTERSHOCK_RUN_ID in its environment, and every
container, Docker network and volume a run label; every live orchestrator holds a marker file
naming its pid. A tagged thing whose run has no live orchestrator is a leftover.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
from pathlib import Path

import psutil

from harness.network.namespaces import run_tag
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
    """End leftovers of dead runs (of every run but `keep` with all_runs). Returns what was ended."""
    alive = live_runs()
    ended = _end_processes(alive, all_runs, keep)
    if shutil.which("ip"):
        alive_tags = {run_tag(r) for r in alive if not all_runs} | ({run_tag(keep)} if keep else set())
        order = {"forward": 0, "link": 1, "netns": 2}
        for kind, name in sorted(network_leftovers(alive_tags), key=lambda kn: order[kn[0]]):
            argv = {"link": ["ip", "link", "del", name], "netns": ["ip", "netns", "del", name],
                    "forward": ["iptables", "-D", "FORWARD", "-i", name, "-o", name, "-j", "ACCEPT"]}[kind]
            if subprocess.run(argv, capture_output=True, timeout=20).returncode == 0:
                ended.append(f"{kind} {name}")
    from harness.runtimes.docker import remove_leftovers

    keep_runs = (set() if all_runs else alive) | ({keep} if keep else set())
    ended += remove_leftovers(keep_runs)
    return ended


def _end_processes(alive: set[str], all_runs: bool, keep: str | None) -> list[str]:
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
