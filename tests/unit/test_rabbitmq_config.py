"""RabbitMQ node configuration rendering and scenario rules (no Erlang started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.brokers.rabbitmq import cluster as rabbit_target
from harness.brokers.rabbitmq.cluster import RabbitCluster
from harness.brokers.rabbitmq.config import node_of_pid as _node_of_pid, render_conf
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.errors import ScenarioError
from harness.runtimes.local import LocalRuntime
from harness.scenario.loader import parse_scenario


@pytest.fixture
def cluster(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> RabbitCluster:
    monkeypatch.setattr(rabbit_target, "rabbitmq_version", lambda: "3.10.8")
    spec = RabbitSpec(kind="rabbitmq", nodes=3, broker_config={"cluster_partition_handling": "autoheal",
                                                                 "vm_memory_high_watermark.relative": 0.6})
    return RabbitCluster(spec, LocalRuntime("as-unit"), tmp_path)


def test_conf_is_rendered_in_sysctl_format() -> None:
    assert render_conf({"a.b": True, "c": 5, "d": "x"}) == "a.b = true\nc = 5\nd = x\n"


def test_broker_config_overrides_defaults_on_every_node(cluster: RabbitCluster) -> None:
    confs = [cluster.node_conf(i) for i in (1, 2, 3)]
    assert {c["cluster_partition_handling"] for c in confs} == {"autoheal"}
    assert {c["vm_memory_high_watermark.relative"] for c in confs} == {0.6}
    assert len({c["listeners.tcp.default"] for c in confs}) == 3


def test_nodes_have_their_own_names_ports_and_dirs_and_share_cookie_home(cluster: RabbitCluster) -> None:
    envs = [cluster.nodes[i].spec.env for i in (1, 2, 3)]  # type: ignore[attr-defined]  # a local process keeps its spec
    for key in ("RABBITMQ_NODENAME", "RABBITMQ_NODE_PORT", "RABBITMQ_DIST_PORT", "RABBITMQ_MNESIA_BASE"):
        assert len({env[key] for env in envs}) == 3, key
    assert len({env["HOME"] for env in envs}) == 1
    assert len({env["ERL_EPMD_PORT"] for env in envs}) == 1
    assert all(env["RABBITMQ_CONFIG_FILE"].endswith("/rabbitmq") for env in envs)
    assert all("net_ticktime 10" in env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"] for env in envs)


def test_classic_queue_home_node_comes_from_its_pid() -> None:
    assert _node_of_pid("<asx-2@localhost.1710939874.1234.0>") == "asx-2@localhost"
    assert _node_of_pid("<asx-2@198.18.7.12.1710939874.1234.0>") == "asx-2@198.18.7.12"


BASE = "name: r\ntarget: {kind: rabbitmq, queue: {type: stream}}\n"


def test_stream_queues_need_manual_acks() -> None:
    with pytest.raises(ScenarioError, match="stream queues need manual acks"):
        parse_scenario(BASE + "consumer: {ack: auto}\n")


def test_streams_take_one_consumer_instance() -> None:
    with pytest.raises(ScenarioError, match="set consumer.instances: 1"):
        parse_scenario(BASE + "consumer: {instances: 2}\n")


def test_unknown_partition_handling_is_refused() -> None:
    with pytest.raises(ScenarioError, match="use ignore, pause_minority or autoheal"):
        parse_scenario("name: r\ntarget: {kind: rabbitmq, broker_config: {cluster_partition_handling: heal}}\n")


def test_controller_target_is_kafka_only() -> None:
    with pytest.raises(ScenarioError, match="controller is a Kafka"):
        parse_scenario("name: r\ntarget: {kind: rabbitmq}\nfaults: [{at: 1s, action: kill, target: controller}]\n")


def test_replicated_queue_types_cannot_be_transient() -> None:
    with pytest.raises(ScenarioError, match="always durable"):
        parse_scenario("name: r\ntarget: {kind: rabbitmq, queue: {type: quorum, durable: false}}\n")
