"""A buffered append-only CSV writer, flushed per batch so a killed process loses at most one batch."""

from __future__ import annotations

import os
import time
from pathlib import Path


class LedgerWriter:
    """Appends rows to one ledger file; flushes every `batch` rows or `interval` seconds.

    Not thread-safe by design: each producer/consumer process (or greenlet hub) owns its writer.
    """

    def __init__(self, path: Path, batch: int = 512, interval: float = 0.2) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._file = open(path, "a", encoding="ascii", buffering=1 << 16)
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

    def __enter__(self) -> "LedgerWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def clean_error(text: str) -> str:
    """Errors go into one CSV field: no commas, no newlines, bounded length."""
    return text.replace(",", ";").replace("\n", " ").replace("\r", " ")[:200]
