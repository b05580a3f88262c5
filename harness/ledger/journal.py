"""The fault journal, `faults.jsonl` beside the ledger directory: what happened to the system, in the
same history as the messages (as in Jepsen), one JSON object a line, appended as it happens.

Events:
- `inject`, `heal`, `error`: a scheduled fault started, was undone, or failed (to start, or to heal:
  then `error` starts with "heal failed"); the rest of the line is its `FaultRecord`.
- `exit`: a process the run owns exited unplanned (harness.watchdog.ProcessExit: name, role, code,
  phase, log tail).
Every line has `event` and `ts_ns` (wall clock, nanoseconds, the clock the ledgers use).
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

JOURNAL = "faults.jsonl"


@dataclass
class FaultRecord:
    index: int
    action: str
    target: str                        # as written: selector, link or partition mode
    planned_at: float
    origin: str = "faults"
    resolved: list[str] = field(default_factory=list)  # nodes, proxies or rules it acted on
    started_s: float | None = None     # seconds after load start
    started_ns: int | None = None
    healed_s: float | None = None
    healed_ns: int | None = None
    error: str | None = None
    required: bool = True              # its effect must show (the entry's effect_required)
    # what the fault measured of itself after it struck and after it healed (Fault.verify):
    # [{"phase": "inject" | "heal", "ok": bool, "detail": str}]
    checks: list[dict[str, Any]] = field(default_factory=list)
    effect_within_s: float | None = None   # by when after it struck (the slowest detector it must trip)


class FaultJournal:
    """Appends events to one run's journal; each line is written whole and closed at once, so a
    reader (or a run killed mid-way) never sees half a line of an event before the next."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, event: str, record: FaultRecord) -> None:
        self.write(event, asdict(record))

    def write(self, event: str, fields: dict[str, Any], ts_ns: int | None = None) -> None:
        line = json.dumps({"event": event, "ts_ns": time.time_ns() if ts_ns is None else ts_ns, **fields})
        with open(self.path, "a") as journal:
            journal.write(line + "\n")
