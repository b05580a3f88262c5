"""Dedicated KRaft controllers (`target.controllers`): the brokers keep node(1..N), the controllers
follow as node(N+1..N+C), only they vote, and only the brokers are dialled, asked or picked at random."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from harness.brokers.kafka import cluster as kafka_target
from harness.brokers.kafka.cluster import KafkaCluster
from harness.brokers.kafka.spec import KafkaSpec
from harness.faults.env import RunFaultEnv
from harness.runtimes.local import LocalRuntime
from harness.scenario.loader import parse_scenario
from harness.scenario.selectors import parse_selector
from tests.unit.test_scenario_refusals import error_of

DEDICATED = """\
name: t
target:
  kind: kafka
  nodes: 3
  controllers: 3
load: {users: 2, rate: 100, duration: 30s}
"""


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KafkaCluster:
    monkeypatch.setattr(kafka_target, "kafka_classpath", lambda version=None: "/nowhere/*")
    return KafkaCluster(KafkaSpec(kind="kafka", nodes=3, controllers=3), LocalRuntime("as-unit"), tmp_path)


def test_brokers_and_controllers_are_separate_nodes_and_only_the_controllers_vote(cluster: KafkaCluster) -> None:
    assert sorted(cluster.nodes) == [1, 2, 3, 4, 5, 6] and cluster.brokers == [1, 2, 3]
    props = {i: cluster.node_properties(i) for i in cluster.nodes}
    assert {props[i]["process.roles"] for i in (1, 2, 3)} == {"broker"}
    assert {props[i]["process.roles"] for i in (4, 5, 6)} == {"controller"}
    voters = {p["controller.quorum.voters"] for p in props.values()}
    assert len(voters) == 1 and [v.split("@")[0] for v in voters.pop().split(",")] == ["4", "5", "6"]


def test_a_controller_listens_only_as_a_controller_and_a_broker_only_as_a_broker(cluster: KafkaCluster) -> None:
    """What Kafka's own config validation asks of each role (KafkaConfig: a controller-only node
    advertises no listener; a broker-only node does not listen on a controller listener)."""
    controller, broker = cluster.node_properties(4), cluster.node_properties(1)
    assert controller["listeners"].startswith("CONTROLLER://") and "," not in controller["listeners"]
    assert "advertised.listeners" not in controller and "inter.broker.listener.name" not in controller
    assert "CONTROLLER" not in broker["listeners"] and "CONTROLLER" not in broker["advertised.listeners"]
    assert "CONTROLLER:PLAINTEXT" in broker["listener.security.protocol.map"]
    assert broker["controller.listener.names"] == "CONTROLLER"
    assert set(cluster.endpoints) == {1, 2, 3} and set(cluster.admin.nodes) == {1, 2, 3}
    assert cluster.bootstrap.count(",") == 2


def test_random_picks_a_broker_and_partitions_may_cut_off_any_node(cluster: KafkaCluster) -> None:
    env = RunFaultEnv(cluster=cluster, consumers=None, rng=random.Random(7))
    picks = {env.node_of(parse_selector("random")) for _ in range(200)}
    assert picks == {1, 2, 3}
    assert env.node_numbers == [1, 2, 3, 4, 5, 6]
    assert env.process(parse_selector("node(5)"))[0] == "kafka-5"


def test_combined_nodes_stay_as_they_were(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_target, "kafka_classpath", lambda version=None: "/nowhere/*")
    combined = KafkaCluster(KafkaSpec(kind="kafka", nodes=3), LocalRuntime("as-unit"), tmp_path)
    assert sorted(combined.nodes) == combined.brokers == combined.voters == [1, 2, 3]
    props = combined.node_properties(2)
    assert props["process.roles"] == "broker,controller"
    assert props["listeners"].count("://") == 2 and props["inter.broker.listener.name"] == "PLAINTEXT"


def test_node_selectors_reach_the_controllers_and_no_further() -> None:
    text = DEDICATED + "faults:\n  - {at: 5s, action: kill, target: 'node(6)', heal_after: 5s}\n"
    assert parse_scenario(text, "s.yaml").target.processes == 6
    message = error_of(DEDICATED + "faults:\n  - {at: 5s, action: kill, target: 'node(7)', heal_after: 5s}\n")
    assert "s.yaml:8" in message and "node(7) but the cluster has 6 nodes" in message


def test_partition_groups_may_name_controllers() -> None:
    text = DEDICATED + ("network: {isolation: namespaces}\nfaults:\n"
                        "  - {at: 5s, action: partition, mode: groups, groups: [[1, 4], [2, 3, 5, 6]],"
                        " heal_after: 5s}\n")
    assert parse_scenario(text, "s.yaml").faults[0].groups == [[1, 4], [2, 3, 5, 6]]


@pytest.mark.parametrize("runtime", ["docker", "compose"])
def test_dedicated_controllers_are_refused_off_the_local_runtime_at_their_line(runtime: str) -> None:
    message = error_of(DEDICATED + f"runtime: {runtime}\n")
    assert "s.yaml:5" in message and "controllers" in message and "runtime: local" in message


def test_more_controllers_than_five_are_refused() -> None:
    message = error_of(DEDICATED.replace("controllers: 3", "controllers: 7"))
    assert "s.yaml:5" in message
