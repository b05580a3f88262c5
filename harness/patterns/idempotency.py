"""Processed-id stores for idempotent consumers: a redelivered message is recognised and its
side effect not performed again.

`process_once` marks the id and performs the effect in one transaction: if the effect raises,
the mark is rolled back and a redelivery will try again. The SQLite store survives a crash of
its process (the file is the memory); the in-memory one does not, which is the comparison the
scenarios draw.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class ProcessedStore(Protocol):
    def process_once(self, message_id: int, effect: Callable[[], None]) -> bool: ...
    def close(self) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._seen: set[int] = set()

    def process_once(self, message_id: int, effect: Callable[[], None]) -> bool:
        if message_id in self._seen:
            return False
        effect()
        self._seen.add(message_id)
        return True

    def close(self) -> None:
        self._seen.clear()


class SqliteStore:
    """One file per consumer group, shared by its instances (SQLite serialises the writers)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, timeout=30, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.execute("CREATE TABLE IF NOT EXISTS processed (id INTEGER PRIMARY KEY)")

    def process_once(self, message_id: int, effect: Callable[[], None]) -> bool:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            inserted = self._db.execute("INSERT OR IGNORE INTO processed (id) VALUES (?)", (message_id,)).rowcount
            if inserted:
                effect()
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")
        return bool(inserted)

    def close(self) -> None:
        self._db.close()
