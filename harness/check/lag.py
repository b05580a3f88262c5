"""How far behind were the consumers? Acknowledged minus delivered messages over time, per
partition (Kafka) or per queue (RabbitMQ, where every delivery is partition 0), per second
after the load started."""

from __future__ import annotations

from harness.check.base import Finding, MetricValue, register
from harness.check.history import History

# First ack and first delivery per (id, partition), in seconds after $origin. The shared per-id
# table answers for ids delivered in one partition; the raw rows, for the rest.
_LAG = """
    WITH first_acks AS ({first_acks}), first_deliveries AS (
        SELECT delivered_partition AS partition, delivered_ns AS ts_ns FROM {messages}
        WHERE id >= 0 AND deliveries > 0 AND one_partition
        UNION ALL
        SELECT partition, min(ts_ns) FROM deliveries
        WHERE id >= 0 AND id IN (SELECT id FROM {messages} WHERE deliveries > 0 AND NOT one_partition)
        GROUP BY id, partition
    ), acked AS (
        SELECT partition, (ts_ns - $origin) // 1000000000 AS second, count(*) AS n FROM first_acks GROUP BY ALL
    ), delivered AS (
        SELECT partition, (ts_ns - $origin) // 1000000000 AS second, count(*) AS n FROM first_deliveries GROUP BY ALL
    ), seconds AS (
        SELECT DISTINCT partition, second FROM (SELECT partition, second FROM acked
                                                UNION ALL SELECT partition, second FROM delivered)
    ), flows AS (
        SELECT s.partition, s.second, coalesce(a.n, 0) AS acked, coalesce(d.n, 0) AS delivered
        FROM seconds s LEFT JOIN acked a USING (partition, second) LEFT JOIN delivered d USING (partition, second)
    )
    SELECT partition, second,
           sum(acked - delivered) OVER (PARTITION BY partition ORDER BY second) AS lag
    FROM flows ORDER BY second, partition
"""


@register
class LagChecker:
    """Lag counts distinct ids, so redeliveries do not make it negative; the series is in the samples."""

    name = "lag"
    metrics: tuple[str, ...] = ("max_consumer_lag", "final_consumer_lag")

    def check(self, history: History) -> Finding:
        origin = history.load_start_ns()
        rows = []
        if origin is not None:
            query = _LAG.format(messages=history.table("messages"), first_acks=_first_acks(history))
            rows = history.records(query, {"origin": origin})
        if not rows:
            return Finding(self.name, {"max_consumer_lag": None, "final_consumer_lag": None}, {"lag": []})
        totals: dict[int, int] = {}
        per_partition: dict[int, int] = {}
        for row in rows:
            per_partition[row["partition"]] = int(row["lag"])
            totals[row["second"]] = sum(per_partition.values())
        series = [{"second": second, "lag": lag} for second, lag in sorted(totals.items())]
        metrics: dict[str, MetricValue] = {"max_consumer_lag": max(totals.values()),
                                           "final_consumer_lag": series[-1]["lag"]}
        final = [{"partition": p, "lag": lag} for p, lag in sorted(per_partition.items())]
        return Finding(self.name, metrics, {"lag": series, "final_lag_by_partition": final})


def _first_acks(history: History) -> str:
    """When every acknowledged id has exactly one K row, those rows are the first acks (no grouping)."""
    (once,) = history.sql(f"""
        SELECT count(*) = (SELECT count(*) FROM {history.table("messages")} WHERE acked)
        FROM sends WHERE event = 'K'""")[0]
    if once:
        return "SELECT partition, ts_ns FROM sends WHERE event = 'K'"
    return "SELECT partition, min(ts_ns) AS ts_ns FROM sends WHERE event = 'K' GROUP BY id, partition"
