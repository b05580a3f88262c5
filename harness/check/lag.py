"""How far behind were the consumers? Acknowledged minus delivered messages over time, per
partition (Kafka) or per queue (RabbitMQ, where every delivery is partition 0), per second
after the load started."""

from __future__ import annotations

from harness.check.base import Finding, register
from harness.check.history import History

_LAG = """
    WITH acked AS (
        SELECT partition, (ts_ns - $origin) // 1000000000 AS second, count(*) AS n
        FROM (SELECT id, partition, min(ts_ns) AS ts_ns FROM sends WHERE event = 'K' GROUP BY id, partition)
        GROUP BY ALL
    ), delivered AS (
        SELECT partition, (ts_ns - $origin) // 1000000000 AS second, count(*) AS n
        FROM (SELECT id, partition, min(ts_ns) AS ts_ns FROM deliveries WHERE id >= 0 GROUP BY id, partition)
        GROUP BY ALL
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
    metrics = ("max_consumer_lag", "final_consumer_lag")

    def check(self, history: History) -> Finding:
        origin = history.load_start_ns()
        rows = history.records(_LAG, {"origin": origin}) if origin is not None else []
        if not rows:
            return Finding(self.name, {"max_consumer_lag": None, "final_consumer_lag": None}, {"lag": []})
        totals: dict[int, int] = {}
        per_partition: dict[int, int] = {}
        for row in rows:
            per_partition[row["partition"]] = int(row["lag"])
            totals[row["second"]] = sum(per_partition.values())
        series = [{"second": second, "lag": lag} for second, lag in sorted(totals.items())]
        metrics = {"max_consumer_lag": max(totals.values()), "final_consumer_lag": series[-1]["lag"]}
        final = [{"partition": p, "lag": lag} for p, lag in sorted(per_partition.items())]
        return Finding(self.name, metrics, {"lag": series, "final_lag_by_partition": final})
