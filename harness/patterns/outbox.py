"""The transactional outbox: the service writes its business record and the message to publish in
one SQLite transaction, and a separate relay publishes what is unsent and marks it sent.

The relay marks rows sent only after the broker acknowledged them (and after the caller has
ledgered those acknowledgements), so a relay killed in between publishes them again on restart:
at-least-once, never lost. Broker-agnostic: the relay is given a `publish` function.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

_SCHEMA = """
    CREATE TABLE IF NOT EXISTS orders (id INTEGER PRIMARY KEY, created_ns INTEGER NOT NULL);
    CREATE TABLE IF NOT EXISTS outbox (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        id INTEGER NOT NULL,
        payload BLOB NOT NULL,
        created_ns INTEGER NOT NULL,
        sent_ns INTEGER
    );
    CREATE INDEX IF NOT EXISTS outbox_unsent ON outbox (seq) WHERE sent_ns IS NULL;
"""


@dataclass(frozen=True)
class OutboxRow:
    seq: int
    id: int
    payload: bytes


class OutboxStore:
    """One SQLite file shared by the writing service and the relay (WAL: readers never block the writer).

    synchronous=NORMAL survives a killed process, which is what the faults do; not a power cut.
    """

    def __init__(self, path: Path, busy_timeout: float = 10.0) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.executescript(_SCHEMA)

    def commit(self, message_id: int, payload: bytes, now_ns: int) -> None:
        """The business write and the message to publish: both or neither."""
        with self._transaction():
            self.conn.execute("INSERT INTO orders (id, created_ns) VALUES (?, ?)", (message_id, now_ns))
            self.conn.execute("INSERT INTO outbox (id, payload, created_ns) VALUES (?, ?, ?)",
                              (message_id, payload, now_ns))

    def unsent(self, limit: int) -> list[OutboxRow]:
        rows = self.conn.execute(
            "SELECT seq, id, payload FROM outbox WHERE sent_ns IS NULL ORDER BY seq LIMIT ?", (limit,))
        return [OutboxRow(seq, message_id, bytes(payload)) for seq, message_id, payload in rows]

    def mark_sent(self, rows: list[OutboxRow], now_ns: int) -> None:
        with self._transaction():
            self.conn.executemany("UPDATE outbox SET sent_ns = ? WHERE seq = ?", [(now_ns, r.seq) for r in rows])

    def counts(self) -> tuple[int, int]:
        """(rows committed, rows marked sent)."""
        total, sent = self.conn.execute("SELECT count(*), count(sent_ns) FROM outbox").fetchone()
        return int(total), int(sent)

    def _transaction(self) -> _Transaction:
        return _Transaction(self.conn)

    def close(self) -> None:
        self.conn.close()


class _Transaction:
    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def __enter__(self) -> None:
        self.conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, *_: object) -> None:
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")


# publish(rows) -> the rows the broker acknowledged; the others stay unsent and are tried again.
Publish = Callable[[list[OutboxRow]], list[OutboxRow]]


class Relay:
    """Moves unsent outbox rows to the broker, oldest first, one batch per step."""

    def __init__(self, store: OutboxStore, publish: Publish, clock_ns: Callable[[], int], batch: int = 200) -> None:
        self.store = store
        self.publish = publish
        self.clock_ns = clock_ns
        self.batch = batch

    def step(self) -> tuple[int, int]:
        """(rows read, rows published and marked sent)."""
        rows = self.store.unsent(self.batch)
        if not rows:
            return 0, 0
        acked = self.publish(rows)
        if acked:
            self.store.mark_sent(acked, self.clock_ns())
        return len(rows), len(acked)
