"""Ledger record formats: headerless CSV, one file per writing process, append-only.

CSV keeps writes cheap and crash-tolerant (a torn last line is skipped on read) and DuckDB
reads it at millions of rows per second. Files live under `<run>/ledger/`:

- `sends-*.csv`      event,id,ts_ns,partition,offset,error
      event: A = attempt (before the send), K = acknowledged by the broker, E = definite error.
      partition/offset are set on K, error (no commas) on E.
- `deliveries-*.csv` id,partition,offset,ts_ns,consumer,redelivered
      one row per delivery handed to the consumer, written before its offset is committed/acked.
      offset is empty where the broker has none (RabbitMQ classic/quorum); redelivered is 0/1,
      the broker's own flag where it has one.

Message ids are 63-bit integers: producer number in the high bits, per-producer sequence below,
so order checks can compare sequences of one producer without string parsing.
"""

from __future__ import annotations

import enum

SEND_COLUMNS: dict[str, str] = {
    "event": "VARCHAR",
    "id": "BIGINT",
    "ts_ns": "BIGINT",
    "partition": "INTEGER",
    "offset": "BIGINT",
    "error": "VARCHAR",
}

DELIVERY_COLUMNS: dict[str, str] = {
    "id": "BIGINT",
    "partition": "INTEGER",
    "offset": "BIGINT",
    "ts_ns": "BIGINT",
    "consumer": "INTEGER",
    "redelivered": "INTEGER",
}

SEQ_BITS = 40


class SendEvent(str, enum.Enum):
    ATTEMPT = "A"
    ACK = "K"
    ERROR = "E"


def make_id(producer: int, seq: int) -> int:
    """Globally unique message id for message `seq` of producer `producer`."""
    return (producer << SEQ_BITS) | seq


def split_id(message_id: int) -> tuple[int, int]:
    """Inverse of make_id: (producer, seq)."""
    return message_id >> SEQ_BITS, message_id & ((1 << SEQ_BITS) - 1)
