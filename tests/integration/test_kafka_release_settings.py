"""The settings each tested Kafka release defines, read from its own jars (no cluster starts): a
scenario's broker_config is checked against them, so a key a release removed is refused on that
release only, at its line."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from harness.brokers.kafka import config_defs
from harness.brokers.kafka.dist import TESTED, kafka_classpath, kafka_version
from tests.integration.conftest import install, run_cli, run_scenario

pytestmark = pytest.mark.usefixtures("kafka_available")


@pytest.mark.parametrize("version", TESTED)
def test_each_release_defines_the_settings_scenarios_set(version: str) -> None:
    install(f"kafka={version}")
    defs = config_defs.ensure(version, kafka_classpath(version), print)
    assert config_defs.cached(version) == defs
    assert len(defs.broker) > 300 and len(defs.topic) > 30, (len(defs.broker), len(defs.topic))
    assert defs.broker["min.insync.replicas"] == defs.topic["min.insync.replicas"] == "INT"
    assert defs.broker["unclean.leader.election.enable"] == "BOOLEAN"
    assert defs.broker["log.retention.ms"] == "LONG" and defs.topic["retention.ms"] == "LONG"
    assert defs.broker_default_of("retention.ms") == "log.retention.ms"
    # ZooKeeper's settings went with ZooKeeper, in 4.0
    assert ("zookeeper.connect" in defs.broker) == version.startswith("3.")


def test_a_setting_the_newer_release_removed_is_refused_on_it_alone(tmp_path: Path) -> None:
    for version in ("3.9.1", "4.4.0"):
        install(f"kafka={version}")
    scenario = tmp_path / "s.yaml"
    scenario.write_text("name: t\ntarget:\n  kind: kafka\n  version: 3.9.1\n  broker_config:\n"
                        "    log.message.format.version: '3.0'\n    min.insync.replicas: 2\n"
                        "load: {users: 1, rate: 10, duration: 5s}\n"
                        "matrix:\n  target.version: ['3.9.1', '4.4.0']\n")
    done = run_cli(["validate", str(scenario)], timeout=120)
    assert done.returncode == 2, done.stdout + done.stderr
    assert (f"{scenario}:10:3: matrix.target.version: variant target.version=4.4.0: target.broker_config.log.message"
            ".format.version: log.message.format.version is not a setting Kafka 4.4.0's brokers define"
            in done.stderr.replace("\n", " ")), done.stderr
    scenario.write_text(scenario.read_text().replace("['3.9.1', '4.4.0']", "['3.9.1']"))
    done = run_cli(["validate", str(scenario)], timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr


def test_broker_and_topic_settings_are_read_back_from_the_running_cluster(tmp_path: Path) -> None:
    """A real broker started with the scenario's broker_config and a topic created with its
    topic.config: what each reports (DescribeConfigs) is in results.json, as the broker parsed it."""
    scenario = tmp_path / "settings.yaml"
    scenario.write_text("""\
name: kafka-settings-read-back
target:
  kind: kafka
  nodes: 1
  heap: 256m
  broker_config: {num.io.threads: 3, log.retention.ms: 7200000, unclean.leader.election.enable: FALSE}
  topic: {partitions: 2, replication_factor: 1, config: {retention.ms: 3600000, cleanup.policy: delete,
                                                         max.message.bytes: 2000000}}
load: {users: 1, rate: 50, duration: 3s}
consumer: {instances: 1}
expect: {lost: 0, unexpected: 0}
""")
    code, results = run_scenario(scenario, tmp_path / "run")
    assert code == 0 and results["verdict"] == "pass", (results["error"], results["expectations"])
    assert results["settings"] == {
        "broker": {"1": {"num.io.threads": "3", "log.retention.ms": "7200000",
                         "unclean.leader.election.enable": "false"}},
        "topic": {"orders": {"retention.ms": "3600000", "cleanup.policy": "delete", "max.message.bytes": "2000000"}},
    }, results["settings"]


def test_client_properties_reach_the_clients_that_run(tmp_path: Path) -> None:
    """producer.properties and consumer.properties on real clients: the librdkafka producer's
    compression.type is what the broker stored (its own DumpLogSegments reads the codec off the
    segment), and the kafka-python consumer's client.id is what the group coordinator logged for it."""
    scenario = tmp_path / "properties.yaml"
    scenario.write_text("""\
name: kafka-client-properties
target: {kind: kafka, nodes: 1, heap: 256m, topic: {partitions: 1, replication_factor: 1}}
producer: {client: confluent-kafka, properties: {compression.type: gzip}}
consumer: {instances: 1, properties: {client.id: billing-svc, max.poll.records: 20}}
load: {users: 1, rate: 100, duration: 3s}
expect: {lost: 0, unexpected: 0}
""")
    code, results = run_scenario(scenario, tmp_path / "run")
    assert code == 0 and results["verdict"] == "pass", (results["error"], results["expectations"])
    assert results["counts"]["acknowledged"] >= 200
    segments = sorted((tmp_path / "run" / "nodes" / "kafka-1" / "data" / "orders-0").glob("*.log"))
    assert segments, list((tmp_path / "run" / "nodes" / "kafka-1").rglob("*"))[:20]
    dumped = subprocess.run(["java", "-cp", kafka_classpath(kafka_version()), "org.apache.kafka.tools.DumpLogSegments",
                             "--files", str(segments[0])], capture_output=True, text=True, timeout=120)
    codecs = set(re.findall(r"compresscodec: (\w+)", dumped.stdout))
    assert codecs == {"gzip"}, (codecs, dumped.stdout[-2000:], dumped.stderr[-2000:])
    log = (tmp_path / "run" / "nodes" / "kafka-1" / "node.log").read_text(errors="replace")
    # a member's id is its client.id and a UUID
    assert re.search(r"joins group aftershock in Empty state\. Created a new member id billing-svc-[0-9a-f-]{36} ",
                     log), log[-3000:]
