"""Notices every process of a run that exits without the harness or a scheduled fault asking.

A consumer that died at the second leader kill left the harness draining for nothing and judging
every undelivered message lost (52 629 "lost" where Kafka's logs showed 286). Whatever a run
started is watched from the moment it runs; an exit nobody asked for is recorded (exit status, the
last lines of its log, the phase, when it was seen) and makes the run an error: its history no
longer says what the system under test did.

The decision is taken here, apart from the loop that polls (`Watchdog.check`), so it is tested with
stand-in processes; the orchestrator calls it on every tick.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Protocol

from harness.errors import AftershockError
from harness.runtimes.base import NodeProcess

POLL_INTERVAL = 0.5   # seconds between looks: every exit is seen within a second
TAIL_LINES = 15


class Watched(Protocol):
    name: str

    @property
    def alive(self) -> bool: ...
    @property
    def stopped_on_purpose(self) -> bool: ...    # the harness (or a fault) killed or stopped it
    @property
    def returncode(self) -> int | None: ...


@dataclass(frozen=True)
class ProcessExit:
    process: str
    role: str                  # broker, consumer, relay, downstream, toxiproxy, dlq-reader
    returncode: int | None
    phase: str
    seen_ns: int
    log_path: str | None
    log_tail: list[str] = field(default_factory=list)

    def describe(self) -> str:
        status = f"exit status {self.returncode}" if self.returncode is not None else "exit status unknown"
        if self.returncode is not None and self.returncode < 0:
            status = f"killed by signal {-self.returncode}"
        where = f": see {self.log_path}" if self.log_path else ""
        return f"{self.process} ({self.role}) exited unexpectedly during {self.phase} ({status}){where}"

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


class ProcessDied(AftershockError):
    """A process of the run exited unplanned: the run is an error, neither pass nor fail."""

    def __init__(self, exits: list[ProcessExit]) -> None:
        self.exits = exits
        lines = [exit.describe() for exit in exits]
        last = exits[0].log_tail[-3:]
        tail = f"; its last log lines: {' | '.join(last)}" if last else ""
        super().__init__("; ".join(lines) + tail + "; the run's history no longer tells what the brokers did,"
                         " so it is judged an error")


@dataclass
class _Entry:
    proc: Watched
    role: str
    log_path: Path | None


class Watchdog:
    def __init__(self, clock: Callable[[], float] = time.monotonic,
                 on_exit: Callable[[ProcessExit], None] = lambda _: None) -> None:
        self._entries: list[_Entry] = []
        self._clock = clock
        self._last: float | None = None
        self.on_exit = on_exit
        self.exits: list[ProcessExit] = []
        self.phase = "start-up"

    def watch(self, proc: Watched, role: str, log_path: Path | None = None) -> None:
        self._entries.append(_Entry(proc, role, log_path))

    def watch_all(self, procs: Iterable[NodeProcess], role: str) -> None:
        for proc in procs:
            self.watch(proc, role, proc.spec.log_path)

    def check(self, force: bool = False) -> list[ProcessExit]:
        """New unplanned exits since the last look (each reported once); at most one look per
        POLL_INTERVAL unless `force` (asking a container engine is not free)."""
        now = self._clock()
        if not force and self._last is not None and now - self._last < POLL_INTERVAL:
            return []
        self._last = now
        found = []
        for entry in list(self._entries):
            proc = entry.proc
            if proc.alive or proc.stopped_on_purpose:
                continue
            self._entries.remove(entry)   # once: a dead process stays dead until someone restarts it
            found.append(ProcessExit(proc.name, entry.role, proc.returncode, self.phase, time.time_ns(),
                                     str(entry.log_path) if entry.log_path else None, _tail(entry.log_path)))
        for exit in found:
            self.exits.append(exit)
            self.on_exit(exit)
        return found

    def raise_on_exit(self, force: bool = False) -> None:
        found = self.check(force)
        if found:
            raise ProcessDied(found)


def _tail(path: Path | None, lines: int = TAIL_LINES) -> list[str]:
    if path is None or not path.exists():
        return []
    with open(path, "rb") as log:
        log.seek(0, 2)
        log.seek(max(0, log.tell() - 16384))
        text = log.read().decode("utf-8", "replace")
    return [line.rstrip() for line in text.splitlines()[-lines:]]
