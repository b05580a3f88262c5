"""How hard did the consumers work to keep their promises? Retries, and the circuit breaker's
timeline (trips and time open), from the consumers' retry and breaker ledgers."""

from __future__ import annotations

from harness.check.base import SAMPLE_LIMIT, Finding, MetricValue, register
from harness.check.history import History

TIMELINE_LIMIT = 500   # breaker transitions kept for the report's timeline (seconds after load start)

# Each consumer's breaker: from every move to 'open' to its next move away from 'open'.
_OPEN_SPANS = """
    WITH moves AS (
        SELECT consumer, ts_ns, old, new,
               lead(ts_ns) OVER (PARTITION BY consumer ORDER BY ts_ns) AS next_ns
        FROM breaker
    )
    SELECT consumer, ts_ns AS opened_ns, next_ns AS left_ns,
           round((coalesce(next_ns, (SELECT max(ts_ns) FROM deliveries)) - ts_ns) / 1e6, 1) AS open_ms
    FROM moves WHERE new = 'open' ORDER BY ts_ns
"""


@register
class RetryChecker:
    name = "retries"
    metrics: tuple[str, ...] = ("retries", "retried_messages", "max_retry_delay_ms")

    def check(self, history: History) -> Finding:
        if not history.has("retries-*.csv"):
            return Finding(self.name, {"retries": 0, "retried_messages": 0, "max_retry_delay_ms": None})
        retries, messages, longest = history.sql(
            "SELECT count(*), count(DISTINCT id), max(delay_ms) FROM retries")[0]
        samples = history.records(f"""
            SELECT id, count(*) AS retries, list(error ORDER BY attempt) AS errors
            FROM retries GROUP BY id ORDER BY retries DESC, id LIMIT {SAMPLE_LIMIT}""")
        return Finding(self.name, {"retries": int(retries), "retried_messages": int(messages),
                                   "max_retry_delay_ms": None if longest is None else round(float(longest), 1)},
                       {"most_retried": samples})


@register
class BreakerChecker:
    """Figures are None when no consumer ran a circuit breaker. A parked message asks the open
    breaker again every poll, so rejected calls outnumber rejected messages."""

    name = "breaker"
    metrics: tuple[str, ...] = ("breaker_trips", "breaker_open_ms", "breaker_max_open_ms", "breakers_left_open",
               "breaker_rejected_calls", "breaker_rejected_messages")

    def check(self, history: History) -> Finding:
        if not history.has("breaker-*.csv"):
            return Finding(self.name, {name: None for name in self.metrics})
        spans = history.records(_OPEN_SPANS)
        total = sum(float(s["open_ms"] or 0) for s in spans)
        (left_open,) = history.sql("""
            SELECT count(*) FROM (SELECT consumer, arg_max(new, ts_ns) AS last FROM breaker GROUP BY consumer)
            WHERE last != 'closed'""")[0]
        metrics: dict[str, MetricValue] = {
            "breaker_trips": len(spans), "breaker_open_ms": round(total, 1),
            "breaker_max_open_ms": max((float(s["open_ms"] or 0) for s in spans), default=0.0),
            "breakers_left_open": int(left_open), "breaker_rejected_calls": 0, "breaker_rejected_messages": 0}
        if history.has("rejections-*.csv"):
            calls, messages = history.sql("SELECT count(*), count(DISTINCT id) FROM rejections")[0]
            metrics |= {"breaker_rejected_calls": int(calls), "breaker_rejected_messages": int(messages)}
        origin = history.load_window_ns[0] if history.load_window_ns else history.sql(
            "SELECT min(ts_ns) FROM breaker")[0][0]
        transitions = history.records(f"""
            SELECT round((ts_ns - {int(origin)}) / 1e9, 3) AS at_s, consumer, old, new
            FROM breaker ORDER BY ts_ns LIMIT {TIMELINE_LIMIT}""")
        return Finding(self.name, metrics, {"open_spans": spans[:SAMPLE_LIMIT], "transitions": transitions})
