"""Throughput and latency second by second, for the report's plots (Jepsen's rate and latency
graphs): no figures of its own, only the series, in seconds after the load started."""

from __future__ import annotations

from harness.check.base import Finding, register
from harness.check.history import History
from harness.check.latency import latencies_ns

SERIES_LIMIT = 7200   # two hours of seconds


@register
class TimeSeriesChecker:
    name = "timeseries"
    metrics: tuple[str, ...] = ()

    def check(self, history: History) -> Finding:
        origin = history.load_start_ns()
        if origin is None:
            return Finding(self.name, {}, {"rates": [], "latency": []})
        rates = history.records(f"""
            WITH acked AS (
                SELECT (ts_ns - {origin}) // 1000000000 AS second, count(*) AS acked
                FROM sends WHERE event = 'K' GROUP BY ALL
            ), delivered AS (
                SELECT (ts_ns - {origin}) // 1000000000 AS second, count(*) AS delivered
                FROM deliveries GROUP BY ALL
            )
            SELECT second, coalesce(acked, 0) AS acked, coalesce(delivered, 0) AS delivered
            FROM acked FULL OUTER JOIN delivered USING (second)
            ORDER BY second LIMIT {SERIES_LIMIT}""")
        latency = history.records(f"""
            WITH timed AS ({latencies_ns(history)})
            SELECT (attempt_ns - {origin}) // 1000000000 AS second,
                   round(quantile_cont(produce_ns, [0.5, 0.99])[1] / 1e6, 1) AS produce_p50_ms,
                   round(quantile_cont(produce_ns, [0.5, 0.99])[2] / 1e6, 1) AS produce_p99_ms,
                   round(quantile_cont(e2e_ns, [0.5, 0.99])[1] / 1e6, 1) AS e2e_p50_ms,
                   round(quantile_cont(e2e_ns, [0.5, 0.99])[2] / 1e6, 1) AS e2e_p99_ms
            FROM timed GROUP BY ALL ORDER BY second LIMIT {SERIES_LIMIT}""")
        return Finding(self.name, {}, {"rates": rates, "latency": latency})
