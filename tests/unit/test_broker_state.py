"""broker-state.json, written when the drain ends: what the broker still holds for the consumers,
and where its replicas stand (leaders, in-sync and eligible leader replicas), each answered or its
failure recorded; a query that fails leaves its figure unknown, never 0, and never hides the other."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from harness.drain import record_broker_state

GROUP = {"orders-svc": {"state": "STABLE", "members": [
    {"client": "orders-svc-1", "member": "m1", "owns": [0, 1], "target": [0, 1]},
    {"client": "orders-svc-2", "member": "m2", "owns": [], "target": [2]}]}}


class Cluster:
    def __init__(self, replicas: Any, groups: Any = GROUP) -> None:
        self._replicas, self._groups = replicas, groups

    def groups(self) -> dict[str, Any]:
        if isinstance(self._groups, Exception):
            raise self._groups
        return self._groups

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


def test_the_groups_are_recorded_and_an_unanswered_query_leaves_the_rest(tmp_path: Path) -> None:
    """A handover that never finished (a member meant to own partition 2 that owns nothing) is what
    a reader of a stopped-short run needs to see; a failed query is recorded and hides nothing else."""
    state = record_broker_state(Cluster({}), tmp_path, lambda _: None)   # type: ignore[arg-type]
    assert state["groups"] == GROUP and state["groups_error"] is None
    state = record_broker_state(Cluster({}, TimeoutError("coordinator gone")), tmp_path,   # type: ignore[arg-type]
                                lambda _: None)
    assert state["groups"] is None and state["groups_error"] == "TimeoutError: coordinator gone"
    assert state["held"] == 3 and state["replicas"] == {}
