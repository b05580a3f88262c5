"""How long did sends take to be acknowledged, and to reach a consumer?"""

from __future__ import annotations

from harness.check.base import Finding, register
from harness.check.history import History

QUANTILES = (("p50", 0.50), ("p95", 0.95), ("p99", 0.99))

def latencies_ns(history: History) -> str:
    """Per sent id: produce and end-to-end latency, from the History's shared per-id table (no
    regrouping of the ledger). Also read by harness.bench.latency_overhead."""
    return f"""
        SELECT id, attempt_ns, ack_ns - attempt_ns AS produce_ns, delivered_ns - attempt_ns AS e2e_ns
        FROM {history.table("messages")} WHERE attempt_ns IS NOT NULL
    """


def _summary_sql(column: str, prefix: str) -> str:
    # One quantile_cont over a list of fractions sorts the column once, not once per fraction.
    fractions = ", ".join(str(q) for _, q in QUANTILES)
    parts = [
        f"round(quantile_cont({column}, [{fractions}])[{i}] / 1e6, 1) AS {prefix}_{label}_ms"
        for i, (label, _) in enumerate(QUANTILES, start=1)
    ]
    parts.append(f"round(max({column}) / 1e6, 1) AS {prefix}_max_ms")
    return ", ".join(parts)


@register
class LatencyChecker:
    """Percentiles from the first attempt to the first ack (produce) and to the first delivery (e2e), in ms."""

    name = "latency"
    metrics = tuple(
        f"{prefix}_{label}_ms"
        for prefix in ("produce_latency", "e2e_latency")
        for label in ("p50", "p95", "p99", "max")
    )

    def check(self, history: History) -> Finding:
        (row,) = history.records(f"""
            SELECT {_summary_sql("produce_ns", "produce_latency")}, {_summary_sql("e2e_ns", "e2e_latency")}
            FROM ({latencies_ns(history)})
        """)
        metrics = {name: None if value is None else float(value) for name, value in row.items()}
        return Finding(self.name, metrics, {})
