"""broker-state.json, written when the drain ends: what the broker still holds for the consumers,
and where its replicas stand (leaders, in-sync and eligible leader replicas), each answered or its
failure recorded; a query that fails leaves its figure unknown, never 0, and never hides the other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.drain import record_broker_state


class Cluster:
    def __init__(self, replicas: Any) -> None:
        self._replicas = replicas

    def load_config(self) -> dict[str, Any]:
        return {"topic": "orders"}

    def positions(self) -> list[dict[str, Any]]:
        return [{"topic": "orders", "partition": 0, "end": 10, "committed": 7}]

    def backlog(self) -> int | None:
        raise AssertionError("positions answer: the backlog is not asked")

    def replicas(self) -> dict[str, Any]:
        if isinstance(self._replicas, Exception):
            raise self._replicas
        return self._replicas


def test_the_replicas_are_recorded_beside_what_the_broker_holds(tmp_path: Path) -> None:
    elr = {"orders": [{"partition": 0, "leader": 2, "isr": [2], "elr": [3], "last_known_elr": [1]}]}
    events: list[str] = []
    state = record_broker_state(Cluster(elr), tmp_path, events.append)   # type: ignore[arg-type]
    saved = json.loads((tmp_path / "broker-state.json").read_text())
    assert saved == state and saved["held"] == 3 and saved["replicas"] == elr and saved["replicas_error"] is None
    assert events and "still holds 3" in events[0]


def test_an_unanswered_replica_query_is_recorded_and_leaves_the_held_figure(tmp_path: Path) -> None:
    state = record_broker_state(Cluster(TimeoutError("no broker answered")), tmp_path, lambda _: None)  # type: ignore[arg-type]
    assert state["held"] == 3 and state["replicas"] is None
    assert state["replicas_error"] == "TimeoutError: no broker answered"
