"""Dedicated KRaft controllers on real brokers, in their own network namespaces: cutting off the
active controller (`target: controller`, one of node(4..6)) makes another controller take over,
while the brokers keep serving acks=all writes and lose none."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.integration.conftest import run_scenario

pytestmark = pytest.mark.usefixtures("kafka_available")

SCENARIO = """\
name: kafka-dedicated-controllers
seed: 4
target: {kind: kafka, nodes: 3, controllers: 3, heap: 256m, broker_config: {min.insync.replicas: 2}}
network: {isolation: namespaces}
producer: {acks: all, enable_idempotence: true}
load: {users: 2, rate: 200, duration: 14s}
consumer: {group: g, instances: 1}
drain: {timeout: 60s, settle: 1s}
faults:
  - {at: 3s, action: partition, mode: isolate, target: controller, heal_after: 5s}
  - {at: 9s, action: kill, target: "leader(orders, 0)", heal_after: 3s}
expect: {lost: 0, unexpected: 0}
"""
ACTIVE = re.compile(r"\[QuorumController id=(\d+)\] Becoming the active controller at epoch (\d+)")


def test_isolating_the_active_controller_elects_another_and_the_brokers_lose_nothing(tmp_path: Path) -> None:
    scenario = tmp_path / "controllers.yaml"
    scenario.write_text(SCENARIO)
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass" and code == 0, (results["expectations"], results["error"])
    partition, kill = results["faults"]
    assert partition["error"] is None and kill["error"] is None and kill["healed_s"] is not None
    active: dict[int, int] = {}   # epoch -> the controller that became active in it
    for log in sorted((tmp_path / "run" / "nodes").glob("kafka-*/node.log")):
        active.update({int(epoch): int(node) for node, epoch in ACTIVE.findall(log.read_text(errors="replace"))})
    first = active[min(active)]
    assert first in (4, 5, 6) and len(active) >= 2, active
    # The isolated node is the one that drops all five others (each of them drops only it).
    cut_off = [int(line.split(")")[0][len("node("):]) for line in partition["resolved"] if line.count("node(") == 6]
    assert cut_off == [first], (partition["resolved"], active)   # the fault hit the active controller
    assert active[max(active)] in {4, 5, 6} - {first}, active
    state = json.loads((tmp_path / "run" / "broker-state.json").read_text())
    leaders = [p["leader"] for p in state["replicas"]["orders"]]   # only brokers lead
    assert len(leaders) == 6 and set(leaders) <= {1, 2, 3}, state
