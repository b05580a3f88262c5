"""Dead-letter accounting: every poison message dead-lettered exactly once, no healthy message
there (but what a configured limit moved there: dropped by design, see check.dropped), and no
acknowledged message neither processed nor dead-lettered."""

from __future__ import annotations

from harness.check.base import SAMPLE_LIMIT, Finding, MetricValue, register
from harness.check.dropped import LIMIT_REASONS
from harness.check.history import History

_ACCOUNTS = """
    WITH poison AS (SELECT DISTINCT id FROM sends WHERE event = 'P'),
         acked AS (SELECT DISTINCT id FROM sends WHERE event = 'K'),
         dead AS (SELECT id, count(*) AS copies FROM dead_letters GROUP BY id),
         done AS (SELECT DISTINCT id FROM effects),
         limited AS (SELECT DISTINCT id FROM dead_letters WHERE reason IN ({reasons}))
    SELECT
        (SELECT count(*) FROM dead) AS dead_lettered,
        (SELECT coalesce(sum(copies - 1), 0) FROM dead) AS dead_letter_duplicates,
        (SELECT count(*) FROM poison) AS poison_sent,
        (SELECT count(*) FROM acked JOIN poison USING (id)) AS poison_acknowledged,
        (SELECT count(*) FROM acked JOIN poison USING (id) WHERE id NOT IN (SELECT id FROM dead)) AS poison_missing,
        (SELECT count(*) FROM dead WHERE id NOT IN (SELECT id FROM poison)
           AND id NOT IN (SELECT id FROM limited)) AS healthy_dead_lettered,
        (SELECT count(*) FROM acked
          WHERE id NOT IN (SELECT id FROM dead) AND id NOT IN (SELECT id FROM done)) AS unaccounted
"""


@register
class DeadLetterChecker:
    """`unaccounted` needs a downstream service (effects); without one it is None."""

    name = "dead_letters"
    # poison_sent counts every poison send, poison_acknowledged those the broker confirmed (a send
    # the load's end cut short may have reached the queue, or not)
    metrics: tuple[str, ...] = ("dead_lettered", "dead_letter_duplicates", "poison_sent", "poison_acknowledged",
                                "poison_missing", "healthy_dead_lettered", "unaccounted")

    def check(self, history: History) -> Finding:
        if not self._in_use(history):
            metrics: dict[str, MetricValue] = {name: 0 for name in self.metrics} | {"unaccounted": None}
            return Finding(self.name, metrics, {"poison_missing": [], "healthy_dead_lettered": []})
        row = history.records(_ACCOUNTS.format(reasons=", ".join(f"'{r}'" for r in LIMIT_REASONS)))[0]
        metrics = {name: int(row[name]) for name in self.metrics}
        if not history.has("effects-*.csv"):
            metrics["unaccounted"] = None
        limit_reasons = ", ".join(f"'{r}'" for r in LIMIT_REASONS)
        samples = {
            "poison_missing": history.records(f"""
                SELECT DISTINCT id FROM sends s WHERE event = 'P'
                  AND EXISTS (SELECT 1 FROM sends k WHERE k.id = s.id AND k.event = 'K')
                  AND id NOT IN (SELECT id FROM dead_letters) ORDER BY id LIMIT {SAMPLE_LIMIT}"""),
            "healthy_dead_lettered": history.records(f"""
                SELECT id, reason, attempts FROM dead_letters
                WHERE id NOT IN (SELECT id FROM sends WHERE event = 'P') AND reason NOT IN ({limit_reasons})
                ORDER BY id LIMIT {SAMPLE_LIMIT}"""),
        }
        return Finding(self.name, metrics, samples)

    @staticmethod
    def _in_use(history: History) -> bool:
        """Without poison, dead letters or effects every figure is 0 (unaccounted: None): skip the scans."""
        if history.has("dlq-*.csv") or history.has("effects-*.csv"):
            return True
        return bool(history.sql("SELECT count(*) FROM sends WHERE event = 'P'")[0][0])
