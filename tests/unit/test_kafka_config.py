"""Kafka node configuration rendering (no JVM started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.brokers.kafka import cluster as kafka_target
from harness.brokers.kafka.cluster import KafkaCluster, _cluster_id
from harness.brokers.kafka.spec import KafkaSpec
from harness.runtimes.local import LocalRuntime


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> KafkaCluster:
    monkeypatch.setattr(kafka_target, "kafka_classpath", lambda version=None: "/nowhere/*")
    spec = KafkaSpec(kind="kafka", nodes=3, broker_config={"min.insync.replicas": 2,
                                                             "unclean.leader.election.enable": False})
    return KafkaCluster(spec, LocalRuntime("as-unit"), tmp_path)


def test_kraft_cluster_ids_never_start_with_a_dash() -> None:
    ids = [_cluster_id() for _ in range(3000)]
    assert all(len(i) == 22 and not i.startswith("-") for i in ids)


def test_every_node_is_broker_and_controller_with_static_voters(cluster: KafkaCluster) -> None:
    props = [cluster.node_properties(i) for i in (1, 2, 3)]
    assert {p["process.roles"] for p in props} == {"broker,controller"}
    assert len({p["controller.quorum.voters"] for p in props}) == 1
    voters = props[0]["controller.quorum.voters"].split(",")
    assert [v.split("@")[0] for v in voters] == ["1", "2", "3"]
    assert len({p["listeners"] for p in props}) == 3  # each node its own ports


def test_broker_config_overrides_are_rendered_as_kafka_properties(cluster: KafkaCluster) -> None:
    props = cluster.node_properties(2)
    assert props["min.insync.replicas"] == "2"
    assert props["unclean.leader.election.enable"] == "false"
    assert props["node.id"] == "2"


def test_heap_is_capped_on_the_command_line(cluster: KafkaCluster) -> None:
    argv = cluster.nodes[1].spec.argv  # type: ignore[attr-defined]  # a local process keeps its spec
    assert "-Xmx384m" in argv and "kafka.Kafka" in argv


def _quorum_state(cluster: KafkaCluster, node: int, leader: int, epoch: int) -> None:
    path = cluster.dir / f"kafka-{node}" / "data" / "__cluster_metadata-0" / "quorum-state"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'{{"clusterId":"","leaderId":{leader},"leaderEpoch":{epoch},"votedId":-1}}')


def test_controller_is_the_leader_of_the_newest_epoch(cluster: KafkaCluster) -> None:
    _quorum_state(cluster, 1, leader=1, epoch=3)   # paused old leader, still claiming
    _quorum_state(cluster, 2, leader=2, epoch=4)
    _quorum_state(cluster, 3, leader=-1, epoch=4)  # voted, has not recorded the leader yet
    assert cluster.controller() == 2


def test_no_controller_while_an_election_is_under_way(cluster: KafkaCluster) -> None:
    from harness.errors import ClusterError

    _quorum_state(cluster, 1, leader=1, epoch=3)
    _quorum_state(cluster, 2, leader=-1, epoch=4)
    _quorum_state(cluster, 3, leader=-1, epoch=4)
    with pytest.raises(ClusterError, match="election of epoch 4"):
        cluster.controller()


def test_an_interrupt_inside_an_admin_query_is_not_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """Ctrl-C or SIGTERM raises Interrupted inside whatever the main thread does; a query must let it
    unwind the run at once, not rebuild its client and ask again."""
    from harness.brokers.kafka.admin import KafkaAdmin
    from harness.errors import Interrupted

    admin = KafkaAdmin({}, {}, "127.0.0.1:1", 1)
    monkeypatch.setattr(admin, "client", lambda: object())
    calls: list[int] = []

    def interrupted(_client: object) -> None:
        calls.append(1)
        raise Interrupted("interrupted by SIGTERM")

    with pytest.raises(Interrupted):
        admin.query(interrupted)
    assert calls == [1]

    def flaky(_client: object) -> str:
        calls.append(2)
        if calls.count(2) == 1:
            raise OSError("connection reset")
        return "answered"

    assert admin.query(flaky) == "answered" and calls.count(2) == 2   # any other error: asked once more
