"""Faults act on the real cluster: a leader kill moves leadership, a restart brings the node back."""

from __future__ import annotations

import random
import time
from pathlib import Path

import pytest

from harness.brokers.kafka.cluster import KafkaCluster
from harness.brokers.kafka.spec import KafkaSpec
from harness.faults.env import RunFaultEnv
from harness.faults.process import Kill, Pause, ProcessFault
from harness.runtimes.local import LocalRuntime
from harness.wait import wait_until
from tests.integration.conftest import survivors

pytestmark = pytest.mark.usefixtures("kafka_available")


def Env(cluster: KafkaCluster) -> RunFaultEnv:  # noqa: N802 - reads as the FaultEnv it builds
    return RunFaultEnv(cluster=cluster, consumers=None, rng=random.Random(1))


def test_leader_kill_moves_leadership_and_heal_restores_the_node(tmp_path: Path) -> None:
    spec = KafkaSpec(kind="kafka", nodes=3, broker_config={"min.insync.replicas": 2})
    runtime = LocalRuntime("as-test-leader")
    with KafkaCluster(spec, runtime, tmp_path) as cluster:
        old = cluster.leader_of("orders", "0")
        victim = cluster.nodes[old]
        fault = Kill(ProcessFault(action="kill", target=f"node({old})", at=0))
        assert fault.inject(Env(cluster)) == [f"kafka-{old}"]
        assert not victim.alive
        new = wait_until(lambda: (lambda leader: leader if leader != old else None)(cluster.leader_of("orders", "0")),
                         what="a new leader of orders/0", timeout=60, give_up_on=())
        assert new != old and cluster.nodes[new].alive
        fault.heal(Env(cluster))
        assert victim.alive
        wait_until(lambda: old in next(p for p in cluster.partitions("orders") if p["partition"] == 0)["isr"],
                   what=f"node {old} back in the ISR", timeout=90, give_up_on=())
        controller = wait_until(cluster.controller, what="an active controller", timeout=30, give_up_on=())
        assert controller in cluster.nodes
    assert survivors("as-test-leader") == []


def test_paused_controller_loses_the_quorum_leadership(tmp_path: Path) -> None:
    spec = KafkaSpec(kind="kafka", nodes=3)
    with KafkaCluster(spec, LocalRuntime("as-test-pause"), tmp_path) as cluster:
        old = wait_until(cluster.controller, what="an active controller", timeout=30, give_up_on=())
        fault = Pause(ProcessFault(action="pause", target="controller", at=0))
        assert fault.inject(Env(cluster)) == [f"kafka-{old}"]
        try:
            new = wait_until(lambda: (lambda c: c if c != old else None)(cluster.controller()),
                             what="another active controller", timeout=60, give_up_on=())
        finally:
            fault.heal(Env(cluster))
        assert new != old
        time.sleep(1)
        assert cluster.nodes[old].alive
    assert survivors("as-test-pause") == []
