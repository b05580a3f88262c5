"""The config renderers hold even when validation is bypassed: no line can be injected into
server.properties or rabbitmq.conf, the settings the harness owns come last, and every Erlang
listener of a local RabbitMQ node is told its interface."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.brokers.kafka import cluster as kafka_target
from harness.brokers.kafka.cluster import KafkaCluster
from harness.brokers.kafka.config import render_properties
from harness.brokers.kafka.spec import KafkaSpec
from harness.brokers.rabbitmq import cluster as rabbit_target
from harness.brokers.rabbitmq.cluster import RabbitCluster
from harness.brokers.rabbitmq.config import render_conf, render_inetrc
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.errors import ClusterError, ScenarioError
from harness.runtimes.local import LocalRuntime

INJECTIONS = [{"num.io.threads": "4\nlog.dirs=/etc"}, {"num.io.threads": "4\rlog.dirs=/etc"},
              {"num.io.threads": "4\u2028x"}, {"num.io.threads": "4\x00"}, {"bad\nkey": "1"},
              {"log.dirs=/etc\nx": "1"}, {"a b": "1"}, {"-x": "1"}, {"k=v": "1"}]


def _kafka(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict) -> KafkaCluster:
    monkeypatch.setattr(kafka_target, "kafka_classpath", lambda version=None: "/nowhere/*")
    spec = KafkaSpec(kind="kafka", nodes=3).model_copy(update={"broker_config": config})  # no validation
    return KafkaCluster(spec, LocalRuntime("as-unit"), tmp_path)


def _rabbit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, config: dict) -> RabbitCluster:
    monkeypatch.setattr(rabbit_target, "rabbitmq_version", lambda: "3.10.8")
    spec = RabbitSpec(kind="rabbitmq", nodes=2).model_copy(update={"broker_config": config})
    return RabbitCluster(spec, LocalRuntime("as-unit"), tmp_path)


@pytest.mark.parametrize("config", INJECTIONS)
def test_kafka_properties_refuse_control_characters_and_odd_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  config: dict) -> None:
    cluster = _kafka(tmp_path, monkeypatch, {})
    with pytest.raises(ScenarioError):
        _kafka(tmp_path, monkeypatch, config).node_properties(1)
    with pytest.raises(ScenarioError):
        render_properties({**cluster.node_properties(1), **config})


@pytest.mark.parametrize("config", INJECTIONS)
def test_rabbitmq_conf_refuses_control_characters_and_odd_keys(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                config: dict) -> None:
    with pytest.raises(ScenarioError):
        _rabbit(tmp_path, monkeypatch, config).node_conf(1)
    with pytest.raises(ScenarioError):
        render_conf(config)


def test_a_trailing_backslash_cannot_swallow_the_next_kafka_property() -> None:
    text = render_properties({"ssl.key.password": "x\\", "listeners": "PLAINTEXT://127.0.0.1:1"})
    assert text.splitlines() == ["ssl.key.password=x\\\\", "listeners=PLAINTEXT://127.0.0.1:1"]


def test_kafka_owned_settings_win_over_broker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    evil = {"advertised.listeners": "PLAINTEXT://evil.example:9092", "listeners": "PLAINTEXT://0.0.0.0:9092",
            "controller.quorum.voters": "1@evil.example:9093", "log.dirs": "/etc", "node.id": 7,
            "num.io.threads": 8}
    props = _kafka(tmp_path, monkeypatch, evil).node_properties(1)
    assert "evil" not in props["advertised.listeners"] + props["controller.quorum.voters"]
    assert "0.0.0.0" not in props["listeners"] and props["log.dirs"] != "/etc" and props["node.id"] == "1"
    assert props["num.io.threads"] == "8"   # a tuning default stays the scenario's to change
    keys = list(props)
    assert keys.index("listeners") > keys.index("num.io.threads")   # written after: the last line wins


def test_rabbitmq_owned_settings_win_and_extra_listeners_are_refused(tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    conf = _rabbit(tmp_path, monkeypatch, {"listeners.tcp.default": "0.0.0.0:5672", "loopback_users": "guest",
                                           "log.console.level": "debug"}).node_conf(1)
    assert conf["listeners.tcp.default"].startswith("127.0.0.1:") and conf["log.console.level"] == "debug"
    for extra in ("listeners.tcp.other", "management.tcp.ip", "prometheus.tcp.port"):
        with pytest.raises(ScenarioError, match="owns"):
            _rabbit(tmp_path, monkeypatch, {extra: "0.0.0.0"}).node_conf(1)


def test_local_rabbitmq_binds_epmd_and_distribution_to_loopback(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = _rabbit(tmp_path, monkeypatch, {})
    env = cluster.nodes[1].spec.env  # type: ignore[attr-defined]  # a local process keeps its spec
    assert env["ERL_EPMD_ADDRESS"] == "127.0.0.1"
    # Every Erlang VM beside the node reads ERL_ZFLAGS: the node, rabbitmqctl, the node's epmd starter.
    assert env["ERL_ZFLAGS"] == "-kernel inet_dist_use_interface {127,0,0,1}"
    assert "inet_dist_use_interface" not in env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]   # said once
    # What a dying VM or Mnesia writes stays beside the node, out of the user's working directory.
    node_dir = tmp_path / "nodes" / "rabbit-1"
    assert env["ERL_CRASH_DUMP"] == str(node_dir / "erl_crash.dump")
    assert f'-mnesia core_dir "{node_dir}"' in env["RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS"]
    cluster._write_files()
    assert "{ip, {127,0,0,1}}" in (tmp_path / "nodes" / "rabbit-1" / "advanced.config").read_text()


def test_each_namespace_gives_rabbitmqctl_a_domain_every_node_resolves_to_its_address() -> None:
    rc = render_inetrc(2, "asab", "ci-box", {1: "198.18.1.11", 2: "198.18.1.12"})
    assert rc.splitlines() == ['{domain, "n2.asab"}.',
                               '{host, {198,18,1,11}, ["ci-box.n1.asab"]}.',
                               '{host, {198,18,1,12}, ["ci-box.n2.asab"]}.',
                               "{lookup, [file, native]}."]


def test_a_listing_some_queues_never_answered_is_no_answer(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """rabbitmqctl exits 0 with the rows that came back and a badrpc line: counting a backlog or
    finding a leader from that would be a guess, so the next node is asked instead."""
    cluster = _rabbit(tmp_path, monkeypatch, {})
    answers = {1: "orders\tquorum\t0\n{:badrpc, {:timeout, 5.0, \"Some queue(s) are unresponsive\"}}\n",
               2: "orders\tquorum\t7\n"}
    monkeypatch.setattr(cluster, "nodes", {i: SimpleNamespace(alive=True, paused=False) for i in (1, 2)})
    monkeypatch.setattr(cluster, "ctl", lambda i, *a, **k: subprocess.CompletedProcess(a, 0, answers[i], ""))
    assert cluster.backlog() == 7
    answers[2] = answers[1]
    with pytest.raises(ClusterError, match="no RabbitMQ node answered"):
        cluster.replicas()
