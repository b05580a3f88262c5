"""How long after each heal did the system serve again? First ack and first delivery after it."""

from __future__ import annotations

from collections.abc import Iterable

from harness.check.base import Finding, register
from harness.check.history import History

_RECOVERY = """
    SELECT h.fault, h.action, h.target, h.healed_ns,
           round((k.first_ns - h.healed_ns) / 1e6, 1) AS produce_ms,
           round((d.first_ns - h.healed_ns) / 1e6, 1) AS consume_ms
    FROM heals h,
         LATERAL (SELECT min(ts_ns) AS first_ns FROM sends WHERE event = 'K' AND ts_ns >= h.healed_ns) k,
         LATERAL (SELECT min(ts_ns) AS first_ns FROM deliveries WHERE ts_ns >= h.healed_ns) d
    ORDER BY h.healed_ns
"""


@register
class RecoveryChecker:
    """A heal with nothing served after it reports None: the system never recovered in the run."""

    name = "recovery"
    metrics: tuple[str, ...] = ("max_produce_recovery_ms", "max_consume_recovery_ms")

    def check(self, history: History) -> Finding:
        rows = history.records(_RECOVERY)
        metrics: dict[str, int | float | None] = {
            "max_produce_recovery_ms": _max(r["produce_ms"] for r in rows),
            "max_consume_recovery_ms": _max(r["consume_ms"] for r in rows),
        }
        return Finding(self.name, metrics, {"recovery": rows})


def _max(values: Iterable[float | None]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return max(present) if present else None
