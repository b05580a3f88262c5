"""Did each producer's messages come out of a partition in the order they were sent?"""

from __future__ import annotations

import numpy as np

from harness.check.base import SAMPLE_LIMIT, Finding, register
from harness.check.history import History
from harness.ledger.schema import SEQ_BITS

SEQ_MASK = (1 << SEQ_BITS) - 1

# With offsets the log order is the truth: the first delivery of each position, by offset.
# Without offsets (RabbitMQ) it is the arrival order at each consumer; broker-flagged
# redeliveries are left out because a requeued message legitimately arrives late.
# Ties in ts_ns are broken by sequence, so a tie never counts as a violation.
# Rows come sorted stream by stream (partition, consumer, producer), each stream in its order.
ARRIVALS = 'deliveries WHERE "offset" IS NULL AND coalesce(redelivered, 0) = 0'
ORDERED_DELIVERIES = f"""
    WITH log_order AS (
        SELECT partition, NULL::INTEGER AS consumer, id, "offset",
               "offset" AS rank_key, 0::BIGINT AS tie_key
        FROM {{positions}}
    ), arrival_order AS (
        SELECT partition, consumer, id, NULL::BIGINT AS "offset",
               ts_ns AS rank_key, id & {SEQ_MASK} AS tie_key
        FROM {ARRIVALS}
    ), ordered AS (
        SELECT * FROM log_order UNION ALL BY NAME SELECT * FROM arrival_order
    )
    SELECT partition, consumer, id, rank_key, "offset" IS NOT NULL AS logged
    FROM ordered ORDER BY {{order_by}}
"""
# Log rows alone all have consumer NULL and tie_key 0: a sort on fewer keys costs half as much.
ARRIVAL_ORDER_BY = f"partition, consumer, id >> {SEQ_BITS}, rank_key, tie_key"
LOG_ORDER_BY = f"partition, id >> {SEQ_BITS}, rank_key"

SAMPLED = """
    WITH shown AS (
        SELECT * FROM order_violations
        ORDER BY partition NULLS LAST, consumer NULLS FIRST, rank_key, tie_key LIMIT {limit}
    )
    SELECT v.id, v.partition, v."offset", v.seq, v.previous_max_seq,
           m.attempt_ns AS sent_ns, m.delivered_ns
    FROM shown v JOIN {messages} m USING (id)
    ORDER BY v.partition NULLS LAST, v.consumer NULLS FIRST, v.rank_key, v.tie_key
"""


@register
class OrderChecker:
    """Counts messages overtaken by a later message of the same producer in the same partition."""

    name = "order"
    metrics: tuple[str, ...] = ("order_violations",)

    def check(self, history: History) -> Finding:
        # Only the columns the running maximum needs are fetched (memory): the rest follow from them.
        (arrivals,) = history.sql(f"SELECT count(*) FROM {ARRIVALS}")[0]
        query = ORDERED_DELIVERIES.format(positions=history.table("positions"),
                                          order_by=ARRIVAL_ORDER_BY if arrivals else LOG_ORDER_BY)
        rows = history.conn.execute(query).fetchnumpy()
        ids = np.ma.getdata(rows["id"])
        seq = ids & SEQ_MASK   # numpy's >> and & on int64 are DuckDB's: arithmetic shift, two's complement
        previous_max = previous_max_in_stream(seq, rows["partition"], rows["consumer"], ids >> SEQ_BITS)
        overtaken = np.flatnonzero(seq < previous_max)
        if len(overtaken) == 0:
            return Finding(self.name, {"order_violations": 0}, {"reordered": []})
        logged = rows["logged"][overtaken]
        rank_key = rows["rank_key"][overtaken]
        violations = {
            "id": ids[overtaken], "partition": rows["partition"][overtaken], "consumer": rows["consumer"][overtaken],
            "offset": np.ma.masked_array(rank_key, mask=~logged), "rank_key": rank_key,
            "tie_key": np.where(logged, 0, seq[overtaken]), "seq": seq[overtaken],
            "previous_max_seq": previous_max[overtaken],
        }
        del rows, ids, seq, previous_max
        _create_table(history, "order_violations", violations)
        try:
            reordered = history.records(SAMPLED.format(limit=SAMPLE_LIMIT, messages=history.table("messages")))
        finally:
            history.conn.execute("DROP TABLE IF EXISTS order_violations")
        return Finding(self.name, {"order_violations": len(overtaken)}, {"reordered": reordered})


def previous_max_in_stream(seq: np.ndarray, *stream_keys: np.ndarray) -> np.ndarray:
    """For rows sorted by stream, the highest seq of the earlier rows of the same stream (-1 for a
    stream's first row). A running maximum: DuckDB's windowed max costs three times the sort."""
    if len(seq) == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.zeros(len(seq), dtype=bool)
    starts[0] = True
    for key in stream_keys:
        starts[1:] |= _changed(key)
    previous = np.empty(len(seq), dtype=np.int64)
    bounds = np.append(np.flatnonzero(starts), len(seq))
    for start, end in zip(bounds[:-1], bounds[1:]):
        running = np.maximum.accumulate(seq[start:end])
        previous[start] = -1
        previous[start + 1:end] = running[:-1]
    return previous


def _changed(key: np.ndarray) -> np.ndarray:
    """Row i+1 differs from row i, NULL (masked) equal to NULL as in SQL's PARTITION BY."""
    values, missing = np.ma.getdata(key), np.ma.getmaskarray(key)
    both_present = ~missing[1:] & ~missing[:-1]
    return (both_present & (values[1:] != values[:-1])) | (missing[1:] != missing[:-1])


def _create_table(history: History, name: str, columns: dict[str, np.ndarray]) -> None:
    """A temp table from numpy columns, masked entries (fetchnumpy's NULLs) back to NULL."""
    arrays, selected = {}, []
    for column, values in columns.items():
        arrays[column] = np.ma.getdata(values)
        if np.ma.isMaskedArray(values):
            arrays[f"{column}_missing"] = np.ma.getmaskarray(values)
            selected.append(f'CASE WHEN "{column}_missing" THEN NULL ELSE "{column}" END AS "{column}"')
        else:
            selected.append(f'"{column}"')
    history.conn.register(f"{name}_arrays", arrays)
    try:
        history.conn.execute(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT {', '.join(selected)} FROM {name}_arrays")
    finally:
        history.conn.unregister(f"{name}_arrays")
