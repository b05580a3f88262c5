"""Ledger record formats: headerless CSV, one file per process start, append-only.

CSV keeps writes cheap and crash-tolerant and DuckDB reads it at millions of rows per second.
Files live under `<run>/ledger/`. A writer is given a nominal name (`deliveries-1.csv`); each start
of its process creates a file of its own, exclusively: the nominal name for the first start, then
`deliveries-1.r2.csv`, `deliveries-1.r3.csv`, ... (`start_path`), all matched by the patterns in
LEDGERS; `start_files` lists them. One file, one writer, one life: only its last line can be torn
(a SIGKILL during a write), and a restarted process never appends to it, so a torn row can never
merge with a complete one. Every row ends in a newline; a file that does not is read without its
torn last line, which is counted (`ledger_torn_rows`), as are complete lines that do not parse
(`ledger_rejected_rows`): neither is read as a row.

- `sends-*.csv`      event,id,ts_ns,partition,offset,error
      event: A = attempt (before the send), K = acknowledged by the broker, E = error answer,
             P = this id is a poison message (written beside its A; no consumer can process it),
             C = committed to the producer's transactional outbox (its relay writes the K or E).
      partition/offset are set on K, error (no commas) on E.
- `deliveries-*.csv` id,partition,offset,ts_ns,consumer,redelivered
      one row per delivery handed to the consumer, written before its offset is committed/acked.
      offset is empty where the broker has none (RabbitMQ classic/quorum); redelivered is 0/1,
      the broker's own flag where it has one.

Message ids are 63-bit integers: producer number in the high bits, per-producer sequence below,
so order checks can compare sequences of one producer without string parsing.

- `effects-*.csv`    id,ts_ns,consumer,mode     written by the downstream service per side effect
- `dlq-*.csv`        id,ts_ns,reason,attempts   dead letters, as read back from the DLQ
                                                (RabbitMQ: x-death reason, count)
- `drops-*.csv`      id,ts_ns,reason,attempts   what the broker discarded by a configured limit, as read
                                                back from the queue the harness routes it into
                                                (RabbitMQ: x-death reason maxlen, expired or delivery_limit)
- `cluster-*.csv`    ts_ns,subject,attribute,value   the cluster's own view (harness.observer): each
                                                fact when it changes, `observer,sample,<facts>` per look
- `retries-*.csv`, `breaker-*.csv`, `rejections-*.csv`   the consumers' retries, breaker transitions
                     and the calls the open breaker turned away
"""

from __future__ import annotations

import enum
import re
from pathlib import Path

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

# The side effects the downstream service performed (its own ledger is the ground truth).
EFFECT_COLUMNS: dict[str, str] = {
    "id": "BIGINT",
    "ts_ns": "BIGINT",
    "consumer": "INTEGER",
    "mode": "VARCHAR",        # normal | degraded
}

# What the harness read back from the dead-letter topic or queue.
DEAD_LETTER_COLUMNS: dict[str, str] = {
    "id": "BIGINT",
    "ts_ns": "BIGINT",
    "reason": "VARCHAR",      # poison | exhausted | breaker-open
    "attempts": "INTEGER",
}

# Each retry a consumer made, and each circuit breaker transition.
RETRY_COLUMNS: dict[str, str] = {"id": "BIGINT", "ts_ns": "BIGINT", "consumer": "INTEGER", "attempt": "INTEGER",
                                 "delay_ms": "DOUBLE", "error": "VARCHAR"}
BREAKER_COLUMNS: dict[str, str] = {"id": "BIGINT", "ts_ns": "BIGINT", "consumer": "INTEGER", "old": "VARCHAR",
                                   "new": "VARCHAR"}   # id: unused (0), kept so every ledger has one
# Each call the open breaker turned away (a parked message asks again every poll, so one id may repeat).
REJECTION_COLUMNS: dict[str, str] = {"id": "BIGINT", "ts_ns": "BIGINT", "consumer": "INTEGER",
                                     "fallback": "VARCHAR"}

# What the cluster said of itself through the run (harness.observer): the changes, and a row per look.
OBSERVATION_COLUMNS: dict[str, str] = {"ts_ns": "BIGINT", "subject": "VARCHAR", "attribute": "VARCHAR",
                                       "value": "VARCHAR"}

# file pattern -> (view name, columns): every ledger a History exposes
LEDGERS: dict[str, tuple[str, dict[str, str]]] = {
    "sends-*.csv": ("sends", SEND_COLUMNS),
    "deliveries-*.csv": ("deliveries", DELIVERY_COLUMNS),
    "effects-*.csv": ("effects", EFFECT_COLUMNS),
    "dlq-*.csv": ("dead_letters", DEAD_LETTER_COLUMNS),
    "drops-*.csv": ("drops", DEAD_LETTER_COLUMNS),
    "retries-*.csv": ("retries", RETRY_COLUMNS),
    "breaker-*.csv": ("breaker", BREAKER_COLUMNS),
    "rejections-*.csv": ("rejections", REJECTION_COLUMNS),
    "cluster-*.csv": ("observations", OBSERVATION_COLUMNS),
}

SEQ_BITS = 40


class SendEvent(enum.StrEnum):
    ATTEMPT = "A"
    ACK = "K"
    ERROR = "E"
    POISON = "P"
    COMMITTED = "C"


def make_id(producer: int, seq: int) -> int:
    """Globally unique message id for message `seq` of producer `producer`."""
    return (producer << SEQ_BITS) | seq


def split_id(message_id: int) -> tuple[int, int]:
    """Inverse of make_id: (producer, seq)."""
    return message_id >> SEQ_BITS, message_id & ((1 << SEQ_BITS) - 1)


def start_path(nominal: Path, start: int) -> Path:
    """The file written by the `start`-th process start (from 1) of the ledger named `nominal`."""
    return nominal if start == 1 else nominal.with_name(f"{nominal.stem}.r{start}{nominal.suffix}")


def start_files(nominal: Path) -> list[Path]:
    """Every file the starts of the ledger named `nominal` wrote, in start order."""
    restart = re.compile(re.escape(nominal.stem) + r"\.r([0-9]+)" + re.escape(nominal.suffix))
    starts = {1: nominal} if nominal.is_file() else {}
    if nominal.parent.is_dir():
        for path in nominal.parent.iterdir():
            match = restart.fullmatch(path.name)
            if match and int(match.group(1)) > 1 and path.is_file():
                starts[int(match.group(1))] = path
    return [starts[start] for start in sorted(starts)]
