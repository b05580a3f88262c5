"""Was the system serving throughout the load? The longest silences in acks and in deliveries."""

from __future__ import annotations

from harness.check.base import Finding, register
from harness.check.history import History


def _longest_gap_sql(events: str) -> str:
    """Longest interval between consecutive event times, the window edges counting as events."""
    return f"""
        WITH points AS (
            SELECT $start AS ts UNION ALL SELECT $end
            UNION ALL SELECT ts_ns FROM ({events}) WHERE ts_ns BETWEEN $start AND $end
        ), gaps AS (
            SELECT lag(ts) OVER (ORDER BY ts) AS start_ns, ts AS end_ns FROM points
        )
        SELECT start_ns, end_ns, round((end_ns - start_ns) / 1e6, 1) AS ms
        FROM gaps WHERE start_ns IS NOT NULL
        ORDER BY end_ns - start_ns DESC, start_ns LIMIT 1
    """


@register
class AvailabilityChecker:
    """Gaps are measured inside the load window (default: first to last attempt), edges included."""

    name = "availability"
    metrics: tuple[str, ...] = ("max_produce_gap_ms", "max_consume_gap_ms")

    def check(self, history: History) -> Finding:
        window = history.load_window_ns or self._attempt_span(history)
        if window is None:
            return Finding(self.name, {name: None for name in self.metrics}, {"produce_gap": []})
        params = {"start": window[0], "end": window[1]}
        produce = history.conn.execute(
            _longest_gap_sql("SELECT ts_ns FROM sends WHERE event = 'K'"), params
        ).fetchall()
        consume = history.conn.execute(_longest_gap_sql("SELECT ts_ns FROM deliveries"), params).fetchall()
        produce_gap = [{"start_ns": s, "end_ns": e, "ms": float(ms)} for s, e, ms in produce]
        metrics: dict[str, int | float | None] = {
            "max_produce_gap_ms": float(produce[0][2]) if produce else None,
            "max_consume_gap_ms": float(consume[0][2]) if consume else None,
        }
        return Finding(self.name, metrics, {"produce_gap": produce_gap})

    @staticmethod
    def _attempt_span(history: History) -> tuple[int, int] | None:
        start, end = history.sql("SELECT min(ts_ns), max(ts_ns) FROM sends WHERE event = 'A'")[0]
        return None if start is None else (int(start), int(end))
