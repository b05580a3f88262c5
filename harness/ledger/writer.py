"""A buffered append-only CSV writer, flushed per batch so a killed process loses at most one batch."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import TextIO

from harness.ledger.schema import start_path

MAX_STARTS = 100_000   # process starts of one ledger; a writer never loops without end


class LedgerWriter:
    """Appends rows to a file of its own; flushes every `batch` rows or `interval` seconds.

    `path` is the ledger's nominal name: each writer creates the next unused file of that ledger
    (harness.ledger.schema.start_path), so a process restarted after a SIGKILL never appends to the
    torn file of its previous life. `self.path` is the file written. Not thread-safe by design: each
    producer/consumer process (or greenlet hub) owns its writer.
    """

    def __init__(self, path: Path, batch: int = 512, interval: float = 0.2) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.nominal = path
        self.path, self._file = _create_next(path)
        self._rows: list[str] = []
        self._batch = batch
        self._interval = interval
        self._last_flush = time.monotonic()

    def write(self, *fields: object) -> None:
        self._rows.append(",".join("" if f is None else str(f) for f in fields))
        if len(self._rows) >= self._batch or time.monotonic() - self._last_flush >= self._interval:
            self.flush()

    def flush(self) -> None:
        if self._rows:
            self._file.write("\n".join(self._rows) + "\n")
            self._rows.clear()
        self._file.flush()
        self._last_flush = time.monotonic()

    def close(self) -> None:
        self.flush()
        os.fsync(self._file.fileno())
        self._file.close()

    def __enter__(self) -> LedgerWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def clean_error(text: str) -> str:
    """Errors go into one CSV field: no commas, no newlines, bounded length."""
    return text.replace(",", ";").replace("\n", " ").replace("\r", " ")[:200]


def _create_next(nominal: Path) -> tuple[Path, TextIO]:
    """The first file of this ledger that does not exist yet, created exclusively (two starts never share one)."""
    for start in range(1, MAX_STARTS + 1):
        path = start_path(nominal, start)
        try:
            return path, open(path, "x", encoding="ascii", buffering=1 << 16)
        except FileExistsError:
            continue
    raise RuntimeError(f"{nominal}: {MAX_STARTS} process starts already wrote this ledger")
