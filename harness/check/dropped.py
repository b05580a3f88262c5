"""What the broker discarded by a limit the scenario configured (length with drop-head, message
TTL, a delivery limit): acknowledged, then dropped by design, which is not loss. The broker says
which: RabbitMQ dead-letters such a message with the limit's reason, into the scenario's
dead-letter queue or into the record the harness reads where there is none (`drops-*.csv`)."""

from __future__ import annotations

from harness.check.history import History

# The reasons (RabbitMQ's x-death words) of a message a limit discarded; `rejected` is a consumer's.
LIMIT_REASONS = ("maxlen", "expired", "delivery_limit")
_REASONS = ", ".join(f"'{reason}'" for reason in LIMIT_REASONS)


def recorded(history: History) -> bool:
    """Was anything reading what the broker drops (a drop record, or a dead-letter queue)?"""
    return history.has("drops-*.csv") or history.has("dlq-*.csv")


def dropped_ids(history: History) -> str:
    """Table (id, reason) of the ids a limit discarded, each once with its first reason; built once
    per History (the delivery checker and the drain read it)."""
    if history.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'dropped_ids'")[0][0]:
        return "dropped_ids"
    history.conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE dropped_ids AS
        SELECT id, arg_min(reason, ts_ns) AS reason FROM (
            SELECT id, reason, ts_ns FROM drops
            UNION ALL SELECT id, reason, ts_ns FROM dead_letters WHERE reason IN ({_REASONS})
        ) GROUP BY id
    """)
    return "dropped_ids"
