"""What the broker still held for the consumers when the drain ended: `<run>/broker-state.json`.

Written by the orchestrator once the drain is over (before anything stops):
    {"topic": main topic or queue, "held": messages the broker held that no consumer had taken
     (Kafka: sum over partitions of log end - committed offset; RabbitMQ: the queues' count) or null
     when it could not be asked, "positions": [{"topic", "partition", "committed", "end"}] (Kafka
     only), "error": why it could not be asked}

An acknowledged message no consumer received is lost only if the broker no longer holds it. Kafka
says which by position: acknowledged at an offset between the group's committed offset and the log
end, it is still in the log, merely undelivered (the consumers stopped short). A queue has no
positions: as many of the missing messages as it still counts are undelivered.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.check.base import SAMPLE_LIMIT, Finding, register
from harness.check.history import History

BROKER_STATE = "broker-state.json"


def broker_state(run_dir: Path) -> dict[str, Any] | None:
    """The recorded state, or None where no drain recorded one (no consumers, an older run)."""
    path = run_dir / BROKER_STATE
    if not path.exists():
        return None
    try:
        state = json.loads(path.read_text())
    except ValueError:
        return {"topic": None, "held": None, "positions": [], "error": f"{path} does not parse"}
    return state if isinstance(state, dict) else None


def held_positions(state: dict[str, Any] | None) -> list[tuple[int, int, int]]:
    """(partition, committed, end) of the main topic's partitions."""
    if not state:
        return []
    return [(int(p["partition"]), int(p["committed"]), int(p["end"])) for p in state.get("positions", [])
            if p.get("topic") == state.get("topic")]


def held_ids(history: History) -> str:
    """Table of the acknowledged, never delivered ids the broker still held by log position; built
    once per History (the delivery and held checkers both read it)."""
    if history.sql("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'held_ids'")[0][0]:
        return "held_ids"
    history.conn.execute(
        'CREATE OR REPLACE TEMP TABLE held_positions (partition INTEGER, committed BIGINT, "end" BIGINT)')
    positions = held_positions(broker_state(history.ledger_dir.parent))
    if positions:
        history.conn.executemany("INSERT INTO held_positions VALUES (?, ?, ?)", positions)
    history.conn.execute(f"""
        CREATE OR REPLACE TEMP TABLE held_ids AS
        WITH missing AS (SELECT id FROM {history.table("messages")} WHERE acked AND deliveries = 0),
             acked_at AS (
                SELECT id, arg_min(partition, ts_ns) AS partition, arg_min("offset", ts_ns) AS "offset"
                FROM sends SEMI JOIN missing USING (id) WHERE event = 'K' GROUP BY id)
        SELECT a.id FROM acked_at a JOIN held_positions h USING (partition)
        WHERE a."offset" >= h.committed AND a."offset" < h."end"
    """)
    return "held_ids"


def undelivered(history: History, state: dict[str, Any] | None, held: str, missing: int) -> int | None:
    """How many of the `missing` (acknowledged, never delivered) the broker still held; None: unknown."""
    if state is None or state.get("held") is None:
        return None
    if held_positions(state):
        return int(history.sql(f"SELECT count(*) FROM {held}")[0][0])
    return min(int(state["held"]), missing)   # a queue: as many of the missing as it still counts


@register
class HeldChecker:
    """Acknowledged messages the consumers never received but the broker still holds: undelivered,
    not lost. Any held message means the consumers stopped short, and the run cannot judge loss."""

    name = "held"
    metrics: tuple[str, ...] = ("undelivered", "broker_held")

    def check(self, history: History) -> Finding:
        state = broker_state(history.ledger_dir.parent)
        if state is None:
            return Finding(self.name, {"undelivered": None, "broker_held": None})
        held = held_ids(history)
        (missing,) = history.sql(f"SELECT count(*) FROM {history.table('messages')} WHERE acked AND deliveries = 0")[0]
        samples = history.records(f"""
            SELECT id, arg_min(partition, ts_ns) AS partition, arg_min("offset", ts_ns) AS "offset",
                   min(ts_ns) AS acked_ns
            FROM sends WHERE event = 'K' AND id IN (SELECT id FROM {held} ORDER BY id LIMIT {SAMPLE_LIMIT})
            GROUP BY id ORDER BY id
        """)
        return Finding(self.name, {"undelivered": undelivered(history, state, held, int(missing)),
                                   "broker_held": state.get("held")}, {"undelivered": samples})
