"""Seeded synthetic Kafka-shaped ledgers with a known number of lost, duplicated and reordered
messages, so a benchmark checks the checker's answers instead of only timing it.

A record is one CSV row in any ledger file (sends A and K rows, delivery rows): `records` rows
are written exactly. Arrays are built with numpy and written by DuckDB (millions of rows a second).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np

from harness.ledger.schema import SEQ_BITS

START_NS = 1_700_000_000_000_000_000   # a fixed wall-clock origin: same seed, same bytes


@dataclass(frozen=True)
class LedgerSpec:
    """What to generate. `duplicated` may grow by up to 2 so the row count comes out exact."""

    records: int
    seed: int
    lost: int
    duplicated: int
    reordered: int
    producers: int = 8
    partitions: int = 12
    consumers: int = 3
    rate_per_s: int = 5_000            # attempts per second across producers: sets the run's length

    @classmethod
    def scaled(cls, records: int, seed: int, per_million: int = 100) -> LedgerSpec:
        """`per_million` of each anomaly per million records (at least one of each)."""
        count = max(1, records * per_million // 1_000_000)
        return cls(records=records, seed=seed, lost=count, duplicated=count, reordered=count)


@dataclass(frozen=True)
class Expected:
    """What `check_history` must report for the generated ledger (metric name -> exact value)."""

    records: int
    messages: int
    metrics: dict[str, int]
    load_window_ns: tuple[int, int]

    def mismatches(self, measured: dict[str, int | float | None]) -> dict[str, tuple[object, int]]:
        """Metric -> (reported, expected) for every metric the checkers got wrong."""
        return {name: (measured.get(name), value) for name, value in self.metrics.items()
                if measured.get(name) != value}


def generate(spec: LedgerSpec, ledger_dir: Path) -> Expected:
    """Writes `sends-<producer>.csv` and `deliveries-<consumer>.csv` under `ledger_dir`."""
    messages, duplicated = _message_count(spec)
    rng = np.random.default_rng(spec.seed)
    index = np.arange(messages, dtype=np.int64)
    producer = index % spec.producers + 1
    seq = index // spec.producers
    partition = rng.integers(0, spec.partitions, messages, dtype=np.int32)
    offset = _log_offsets(partition, spec.partitions)
    swapped = _swap_neighbours(rng, partition * spec.producers + producer, offset, spec.reordered)
    lost, redelivered = _pick_disjoint(rng, messages, swapped, spec.lost, duplicated)

    attempt_ns = START_NS + index * 1_000_000_000 // spec.rate_per_s
    ack_ns = attempt_ns + rng.lognormal(np.log(2e6), 0.5, messages).astype(np.int64)      # ~2 ms to the ack
    delivered_ns = ack_ns + rng.lognormal(np.log(5e6), 0.7, messages).astype(np.int64)    # ~5 ms more to a consumer
    delivered = np.ones(messages, dtype=bool)
    delivered[lost] = False

    ids = (producer << SEQ_BITS) | seq
    ledger_dir.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(":memory:") as conn:
        conn.register("messages", {
            "id": ids, "producer": producer, "partition": partition, "offset": offset, "attempt_ns": attempt_ns,
            "ack_ns": ack_ns, "delivered_ns": delivered_ns, "delivered": delivered,
            "consumer": partition % spec.consumers,
        })
        conn.register("redelivered_ids", {"id": ids[redelivered]})
        # A redelivery: the same position read again two seconds later by the next consumer (a rebalance).
        conn.execute("""
            CREATE TABLE deliveries AS
            SELECT id, partition, "offset", delivered_ns AS ts_ns, consumer, 0 AS redelivered
            FROM messages WHERE delivered
            UNION ALL
            SELECT id, partition, "offset", delivered_ns + 2000000000, (consumer + 1) % $consumers, 0
            FROM messages SEMI JOIN redelivered_ids USING (id)
        """, {"consumers": spec.consumers})
        for p in range(1, spec.producers + 1):
            _copy(conn, f"""
                SELECT event, id, ts_ns, partition, "offset", NULL AS error FROM (
                    SELECT 'A' AS event, id, attempt_ns AS ts_ns, NULL AS partition, NULL AS "offset"
                    FROM messages WHERE producer = {p}
                    UNION ALL
                    SELECT 'K', id, ack_ns, partition, "offset" FROM messages WHERE producer = {p}
                ) ORDER BY ts_ns, event""", ledger_dir / f"sends-{p}.csv")
        for c in range(spec.consumers):
            _copy(conn, f"SELECT * FROM deliveries WHERE consumer = {c} ORDER BY ts_ns",
                  ledger_dir / f"deliveries-{c}.csv")

    return Expected(
        records=spec.records, messages=messages,
        metrics={
            "attempted": messages, "acknowledged": messages, "failed": 0, "delivered": messages - spec.lost,
            "deliveries": messages - spec.lost + duplicated, "lost": spec.lost, "unexpected": 0, "recovered": 0,
            "indeterminate": 0, "log_duplicates": 0, "redeliveries": duplicated, "duplicated": duplicated,
            "order_violations": spec.reordered,
        },
        load_window_ns=(int(attempt_ns[0]), int(attempt_ns[-1])),
    )


def _message_count(spec: LedgerSpec) -> tuple[int, int]:
    """Messages and duplicates giving exactly `spec.records` rows: 3 per message (A, K, delivery),
    minus one per lost message, plus one per duplicate."""
    messages = (spec.records + spec.lost - spec.duplicated) // 3
    duplicated = spec.records + spec.lost - 3 * messages
    if min(spec.lost, spec.duplicated, spec.reordered) < 0 or spec.lost + duplicated + 2 * spec.reordered > messages:
        raise ValueError(f"{spec}: too many anomalies for {messages} messages")
    return messages, duplicated


def _log_offsets(partition: np.ndarray, partitions: int) -> np.ndarray:
    """Each message's offset: its rank among the messages of its partition, in send order."""
    order = np.argsort(partition, kind="stable")
    starts = np.searchsorted(partition[order], np.arange(partitions))
    offset = np.empty(len(partition), dtype=np.int64)
    offset[order] = np.arange(len(partition)) - starts[partition[order]]
    return offset


def _swap_neighbours(rng: np.random.Generator, stream: np.ndarray, offset: np.ndarray, count: int) -> np.ndarray:
    """Swaps the log positions of `count` disjoint pairs of consecutive messages of one producer in one
    partition (a retried send landing behind its successor): exactly one order violation per pair.
    Returns the indexes of every swapped message."""
    order = np.argsort(stream, kind="stable")   # by (partition, producer), then by sequence
    # Pairs start at even positions only, so no two chosen pairs share a message.
    starts = np.flatnonzero(stream[order[:-1:2]] == stream[order[1::2]]) * 2
    if len(starts) < count:
        raise ValueError(f"only {len(starts)} pairs of neighbours to reorder, {count} asked")
    chosen = rng.choice(starts, count, replace=False)
    first, second = order[chosen], order[chosen + 1]
    offset[first], offset[second] = offset[second], offset[first]
    return np.concatenate([first, second])


def _pick_disjoint(rng: np.random.Generator, messages: int, taken: np.ndarray, *counts: int) -> list[np.ndarray]:
    """Disjoint random sets of message indexes of the given sizes, none of them in `taken`."""
    free = np.setdiff1d(np.arange(messages), taken)
    picked = rng.choice(free, sum(counts), replace=False)
    return np.split(picked, np.cumsum(counts)[:-1])


def _copy(conn: duckdb.DuckDBPyConnection, query: str, path: Path) -> None:
    target = str(path).replace("'", "''")
    conn.execute(f"COPY ({query}) TO '{target}' (FORMAT csv, HEADER false)")
