"""Did every acknowledged message arrive, and how often? Loss, duplicates and redeliveries."""

from __future__ import annotations

from harness.check.base import SAMPLE_LIMIT, Finding, register
from harness.check.dropped import dropped_ids, recorded
from harness.check.explain import explain_duplicated, explain_lost
from harness.check.held import broker_state, held_ids, undelivered
from harness.check.history import History
from harness.ledger.schema import SEQ_BITS

SEQ_MASK = (1 << SEQ_BITS) - 1

@register
class DeliveryChecker:
    """Loss is acknowledged-but-never-delivered and not dropped by a configured limit; `dropped`
    counts what the broker acknowledged and then discarded by one, delivered before or not (None
    where nothing read what the broker drops); an unacknowledged send never found is
    indeterminate, not lost."""

    name = "delivery"
    metrics: tuple[str, ...] = (
        "attempted", "acknowledged", "failed", "delivered", "deliveries", "lost", "dropped", "unexpected",
        "recovered", "indeterminate", "log_duplicates", "redeliveries", "duplicated",
    )

    def check(self, history: History) -> Finding:
        held, dropped = held_ids(history), dropped_ids(history)
        return Finding(self.name, self._metrics(history, held, dropped), self._samples(history, held, dropped))

    def _metrics(self, history: History, held: str, dropped: str) -> dict[str, int | float | None]:
        (per_id,) = history.records(f"""
            SELECT count(*) FILTER (WHERE attempted) AS attempted,
                   count(*) FILTER (WHERE acked) AS acknowledged,
                   count(*) FILTER (WHERE NOT acked AND id IN (SELECT id FROM sends WHERE event = 'E')) AS failed,
                   count(*) FILTER (WHERE deliveries > 0) AS delivered,
                   coalesce(sum(deliveries), 0) AS deliveries,
                   count(*) FILTER (WHERE acked AND deliveries = 0 AND id NOT IN (SELECT id FROM {dropped})) AS lost,
                   count(*) FILTER (WHERE acked AND id IN (SELECT id FROM {dropped})) AS dropped,
                   count(*) FILTER (WHERE deliveries > 0 AND NOT attempted) AS unexpected,
                   count(*) FILTER (WHERE deliveries > 0 AND attempted AND NOT acked) AS recovered,
                   count(*) FILTER (WHERE attempted AND NOT acked AND deliveries = 0) AS indeterminate,
                   coalesce(sum(positions - 1) FILTER (WHERE positions > 0), 0) AS log_duplicates
            FROM {history.table("messages")}
        """)
        # Per position, every delivery after the first is a redelivery; without offsets
        # (RabbitMQ) only the broker's redelivered flag can tell.
        (redeliveries,) = history.sql(f"""
            SELECT (SELECT coalesce(sum(copies - 1), 0) FROM {history.table("positions")})
                   + (SELECT count(*) FROM deliveries WHERE "offset" IS NULL AND redelivered = 1)
        """)[0]
        metrics: dict[str, int | float | None] = {name: int(value) for name, value in per_id.items()}
        metrics["redeliveries"] = int(redeliveries)
        metrics["duplicated"] = int(per_id["deliveries"]) - int(per_id["delivered"])
        state = broker_state(history.ledger_dir.parent)
        lost = int(metrics["lost"] or 0)
        metrics["lost"] = lost - (undelivered(history, state, held, lost) or 0)
        if not recorded(history):
            metrics["dropped"] = None   # nothing read what the broker drops: it cannot be told from lost
        return metrics

    def _samples(self, history: History, held: str, dropped: str) -> dict[str, list[dict]]:
        messages = history.table("messages")
        lost = history.records(f"""
            WITH lost AS (
                SELECT id FROM {messages} WHERE acked AND deliveries = 0 AND id NOT IN (SELECT id FROM {held})
                  AND id NOT IN (SELECT id FROM {dropped})
                ORDER BY id LIMIT {SAMPLE_LIMIT}
            )
            SELECT id, id >> {SEQ_BITS} AS producer, id & {SEQ_MASK} AS seq,
                   arg_min(partition, ts_ns) FILTER (WHERE event = 'K') AS partition,
                   arg_min("offset", ts_ns) FILTER (WHERE event = 'K') AS "offset",
                   min(ts_ns) FILTER (WHERE event = 'A') AS sent_ns,
                   min(ts_ns) FILTER (WHERE event = 'K') AS acked_ns
            FROM sends SEMI JOIN lost USING (id) GROUP BY id ORDER BY id
        """)
        explain_lost(history, lost, history.load_start_ns() or 0)
        duplicated = history.records(f"""
            WITH duplicated AS (
                SELECT id, positions, deliveries, attempt_ns FROM {messages}
                WHERE deliveries > 1 ORDER BY id LIMIT {SAMPLE_LIMIT}
            )
            SELECT d.id, d.positions, d.deliveries,
                   d.attempt_ns AS sent_ns,
                   list(DISTINCT r.partition ORDER BY r.partition) AS partitions,
                   list(DISTINCT r."offset" ORDER BY r."offset") AS offsets,
                   min(r.ts_ns) AS delivered_ns, max(r.ts_ns) AS last_delivered_ns
            FROM duplicated d JOIN deliveries r USING (id)
            GROUP BY d.id, d.positions, d.deliveries, d.attempt_ns ORDER BY d.id
        """)
        explain_duplicated(history, duplicated, history.load_start_ns() or 0)
        unexpected = history.records(f"""
            WITH unexpected AS (
                SELECT id FROM {messages} WHERE deliveries > 0 AND NOT attempted ORDER BY id LIMIT {SAMPLE_LIMIT}
            )
            SELECT id, arg_min(partition, ts_ns) AS partition, arg_min("offset", ts_ns) AS "offset", min(ts_ns) AS ts_ns
            FROM deliveries SEMI JOIN unexpected USING (id) GROUP BY id ORDER BY id
        """)
        dropped_samples = history.records(f"""
            SELECT d.id, d.reason FROM {dropped} d SEMI JOIN {messages} m ON m.id = d.id AND m.acked
            ORDER BY d.id LIMIT {SAMPLE_LIMIT}
        """)
        return {"lost": lost, "dropped": dropped_samples, "duplicated": duplicated, "unexpected": unexpected}


def outstanding(history: History) -> int:
    """What the drain phase waits for (the final check calls it lost): acknowledged (or committed to
    an outbox) ids not delivered yet and not dropped by a configured limit, and, while the
    dead-letter queue is read, acknowledged poison ids not dead-lettered yet (a broker may take its
    time moving them)."""
    dropped = dropped_ids(history)
    (count,) = history.sql(f"""
        SELECT count(*) FROM (SELECT DISTINCT id FROM sends WHERE event IN ('K', 'C')) acked
        WHERE NOT EXISTS (SELECT 1 FROM deliveries d WHERE d.id = acked.id)
          AND NOT EXISTS (SELECT 1 FROM {dropped} x WHERE x.id = acked.id)
    """)[0]
    if history.has("dlq-*.csv"):
        (poison,) = history.sql("""
            SELECT count(*) FROM (SELECT DISTINCT id FROM sends WHERE event = 'P') p
            WHERE EXISTS (SELECT 1 FROM sends k WHERE k.id = p.id AND k.event = 'K')
              AND NOT EXISTS (SELECT 1 FROM dead_letters d WHERE d.id = p.id)
        """)[0]
        count += poison
    return int(count)
