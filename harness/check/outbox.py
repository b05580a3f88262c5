"""Did the transactional outbox keep its promise? Rows committed vs published vs delivered.

Committed (C, by the producing service) is what the business believes happened; published (K,
by the relay) is what the broker took; delivered is what a consumer saw. A relay killed between
the broker's ack and marking its rows sent publishes them again: counted as republished.
"""

from __future__ import annotations

from harness.check.base import SAMPLE_LIMIT, Finding, register
from harness.check.history import History

_OUTCOMES = """
    WITH committed AS (
        SELECT id, min(ts_ns) AS committed_ns FROM sends WHERE event = 'C' GROUP BY id
    ), published AS (
        SELECT id, count(*) AS acks, min(ts_ns) AS published_ns FROM sends WHERE event = 'K' GROUP BY id
    ), delivered AS (
        SELECT DISTINCT id FROM deliveries
    )
    SELECT c.id, c.committed_ns, p.published_ns, coalesce(p.acks, 0) AS acks, d.id IS NOT NULL AS delivered
    FROM committed c LEFT JOIN published p USING (id) LEFT JOIN delivered d USING (id)
"""


@register
class OutboxChecker:
    """None everywhere when the run had no outbox."""

    name = "outbox"
    metrics: tuple[str, ...] = ("outbox_committed", "outbox_published", "outbox_unpublished", "outbox_republished",
               "outbox_lost", "outbox_relay_lag_p99_ms")

    def check(self, history: History) -> Finding:
        (committed,) = history.sql("SELECT count(*) FROM sends WHERE event = 'C'")[0]
        if not committed:
            return Finding(self.name, {name: None for name in self.metrics})
        history.conn.execute(f"CREATE OR REPLACE TEMP TABLE outbox_outcomes AS {_OUTCOMES}")
        try:
            (row,) = history.records("""
                SELECT count(*) AS outbox_committed,
                       count(*) FILTER (WHERE acks > 0) AS outbox_published,
                       count(*) FILTER (WHERE acks = 0) AS outbox_unpublished,
                       coalesce(sum(acks - 1) FILTER (WHERE acks > 1), 0) AS outbox_republished,
                       count(*) FILTER (WHERE NOT delivered) AS outbox_lost,
                       quantile_cont((published_ns - committed_ns) / 1e6, 0.99) AS outbox_relay_lag_p99_ms
                FROM outbox_outcomes""")
            lost = history.records(f"""
                SELECT id, committed_ns, published_ns, acks FROM outbox_outcomes
                WHERE NOT delivered ORDER BY id LIMIT {SAMPLE_LIMIT}""")
        finally:
            history.conn.execute("DROP TABLE IF EXISTS outbox_outcomes")
        metrics = {k: (round(float(v), 1) if k.endswith("_ms") and v is not None else int(v) if v is not None else None)
                   for k, v in row.items()}
        return Finding(self.name, metrics, {"lost": lost})
