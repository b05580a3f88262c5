"""Every setting the targets write themselves is either owned by the harness (a scenario setting
it is refused) or a tuning default a scenario may change: a new one must be classified here."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.brokers.kafka import cluster as kafka_target
from harness.brokers.kafka.spec import KAFKA_OWNED, KafkaSpec
from harness.brokers.rabbitmq import cluster as rabbit_target
from harness.brokers.rabbitmq.spec import RABBITMQ_OWNED, RabbitSpec
from harness.runtimes.local import LocalRuntime
from harness.scenario.broker_settings import owner_reason

KAFKA_TUNABLE = {"auto.create.topics.enable", "offsets.topic.replication.factor", "offsets.topic.num.partitions",
                 "transaction.state.log.replication.factor", "transaction.state.log.min.isr",
                 "group.initial.rebalance.delay.ms", "num.network.threads", "num.io.threads",
                 "group.consumer.min.session.timeout.ms", "group.consumer.session.timeout.ms",
                 "group.consumer.min.heartbeat.interval.ms", "group.consumer.heartbeat.interval.ms"}
RABBITMQ_TUNABLE = {"cluster_partition_handling", "log.console.level"}


def test_every_kafka_setting_the_harness_writes_is_owned_or_a_tuning_default(tmp_path: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_target, "kafka_classpath", lambda version=None: "/nowhere/*")
    cluster = kafka_target.KafkaCluster(KafkaSpec(kind="kafka", nodes=3), LocalRuntime("as-unit"), tmp_path,
                                        groups=("producer", "consumer"), via=lambda path, at: ("127.0.0.1", 1))
    written = set(cluster.node_properties(1))
    owned = {key for key in written if owner_reason(KAFKA_OWNED, key)}
    assert written - owned == KAFKA_TUNABLE
    assert {"listeners", "advertised.listeners", "controller.quorum.voters", "node.id", "log.dirs"} <= owned


def test_every_rabbitmq_setting_the_harness_writes_is_owned_or_a_tuning_default(tmp_path: Path,
                                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rabbit_target, "rabbitmq_version", lambda: "3.10.8")
    cluster = rabbit_target.RabbitCluster(RabbitSpec(kind="rabbitmq", nodes=3), LocalRuntime("as-unit"), tmp_path)
    written = set(cluster.node_conf(1))
    owned = {key for key in written if owner_reason(RABBITMQ_OWNED, key)}
    assert written - owned == RABBITMQ_TUNABLE
    assert {"listeners.tcp.default", "loopback_users"} <= owned
