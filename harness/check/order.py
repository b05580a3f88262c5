"""Did each producer's messages come out of a partition in the order they were sent?"""

from __future__ import annotations

from harness.check.base import SAMPLE_LIMIT, Finding, register
from harness.check.history import History
from harness.ledger.schema import SEQ_BITS

SEQ_MASK = (1 << SEQ_BITS) - 1

# With offsets the log order is the truth: the first delivery of each position, by offset.
# Without offsets (RabbitMQ) it is the arrival order at each consumer; broker-flagged
# redeliveries are left out because a requeued message legitimately arrives late.
# Ties in ts_ns are broken by sequence, so a tie never counts as a violation.
ORDERED_DELIVERIES = f"""
    WITH log_order AS (
        SELECT partition, NULL::INTEGER AS consumer, arg_min(id, ts_ns) AS id, "offset",
               "offset" AS rank_key, 0::BIGINT AS tie_key
        FROM deliveries WHERE "offset" IS NOT NULL
        GROUP BY partition, "offset"
    ), arrival_order AS (
        SELECT partition, consumer, id, NULL::BIGINT AS "offset",
               ts_ns AS rank_key, id & {SEQ_MASK} AS tie_key
        FROM deliveries WHERE "offset" IS NULL AND coalesce(redelivered, 0) = 0
    ), ordered AS (
        SELECT * FROM log_order UNION ALL BY NAME SELECT * FROM arrival_order
    ), sequenced AS (
        SELECT partition, consumer, id, "offset", rank_key, tie_key,
               id & {SEQ_MASK} AS seq,
               max(id & {SEQ_MASK}) OVER (
                   PARTITION BY partition, consumer, id >> {SEQ_BITS}
                   ORDER BY rank_key, tie_key
                   ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING
               ) AS previous_max_seq
        FROM ordered
    )
    SELECT * FROM sequenced WHERE seq < previous_max_seq
"""


@register
class OrderChecker:
    """Counts messages overtaken by a later message of the same producer in the same partition."""

    name = "order"
    metrics = ("order_violations",)

    def check(self, history: History) -> Finding:
        history.conn.execute(f"CREATE OR REPLACE TEMP TABLE order_violations AS {ORDERED_DELIVERIES}")
        try:
            (count,) = history.sql("SELECT count(*) FROM order_violations")[0]
            reordered = history.records(f"""
                WITH shown AS (
                    SELECT * FROM order_violations
                    ORDER BY partition NULLS LAST, consumer NULLS FIRST, rank_key, tie_key LIMIT {SAMPLE_LIMIT}
                )
                SELECT v.id, v.partition, v."offset", v.seq, v.previous_max_seq,
                       (SELECT min(ts_ns) FROM sends s WHERE s.id = v.id AND s.event = 'A') AS sent_ns,
                       (SELECT min(ts_ns) FROM deliveries d WHERE d.id = v.id) AS delivered_ns
                FROM shown v ORDER BY v.partition NULLS LAST, v.consumer NULLS FIRST, v.rank_key, v.tie_key
            """)
        finally:
            history.conn.execute("DROP TABLE IF EXISTS order_violations")
        return Finding(self.name, {"order_violations": int(count)}, {"reordered": reordered})
