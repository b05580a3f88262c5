"""Did the services do each thing once? Side effects per id (what idempotency must keep at one),
separately from delivery duplicates, and how many were done in degraded mode."""

from __future__ import annotations

from harness.check.base import SAMPLE_LIMIT, Finding, MetricValue, register
from harness.check.history import History


@register
class SideEffectChecker:
    """Figures are None when no downstream service ran: nothing was measured, nothing passes."""

    name = "side_effects"
    metrics: tuple[str, ...] = ("side_effects", "side_effect_duplicates", "degraded", "side_effect_replays")

    def check(self, history: History) -> Finding:
        if not history.has("effects-*.csv"):
            return Finding(self.name, {name: None for name in self.metrics})
        # A replay (a repeated call the service recognised by its idempotency key) did nothing.
        effects, distinct, degraded, replays = history.sql("""
            SELECT count(*) FILTER (WHERE mode != 'replay'), count(DISTINCT id) FILTER (WHERE mode != 'replay'),
                   count(*) FILTER (WHERE mode = 'degraded'), count(*) FILTER (WHERE mode = 'replay')
            FROM effects
        """)[0]
        samples = history.records(f"""
            SELECT id, count(*) AS effects, list(consumer ORDER BY ts_ns) AS consumers
            FROM effects WHERE mode != 'replay' GROUP BY id HAVING count(*) > 1 ORDER BY id LIMIT {SAMPLE_LIMIT}
        """)
        metrics: dict[str, MetricValue] = {
            "side_effects": int(distinct), "side_effect_duplicates": int(effects - distinct),
            "degraded": int(degraded), "side_effect_replays": int(replays)}
        return Finding(self.name, metrics, {"duplicated_effects": samples})
