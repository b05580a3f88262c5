"""The confluent-kafka sample consumer in both group protocols on real brokers: KIP-848's consumer
protocol on the newest tested release (the broker assigns partitions incrementally; a killed member's
partitions move after the broker-held session timeout), and the classic protocol on the default
release; a consumer kill and a leader kill lose nothing acknowledged, and the protocol the broker
says the group ran, with the client, is recorded."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

import pytest

from harness.brokers.kafka.dist import TESTED, kafka_version
from tests.integration.conftest import evidence, run_cli, run_scenario

pytestmark = pytest.mark.usefixtures("kafka_available")

SCENARIO = """\
name: kafka-group-protocol-{protocol}
seed: 4
target:
  kind: kafka
  version: "{version}"
  nodes: 3
  broker_config: {{min.insync.replicas: 2}}
  topic: {{name: orders, partitions: 6, replication_factor: 3}}
producer: {{acks: all, enable_idempotence: true}}
consumer: {{group: orders-svc, instances: 2, client: confluent-kafka, group_protocol: {protocol}}}
load: {{users: 2, rate: 200, duration: 16s}}
faults:
  - {{at: 3s, action: kill, target: "consumer(1)", heal_after: 3s}}
  - {{at: 9s, action: kill, target: "leader(orders, 0)", heal_after: 3s}}
expect: {{lost: 0, unexpected: 0}}
"""


@pytest.mark.parametrize("protocol,version", [("consumer", max(TESTED, key=lambda v: tuple(map(int, v.split("."))))),
                                              ("classic", kafka_version())])
def test_the_confluent_consumer_loses_nothing_in_either_group_protocol(protocol: str, version: str,
                                                                       tmp_path: Path) -> None:
    installed = run_cli(["install", f"kafka={version}"], timeout=900)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    scenario = tmp_path / "group.yaml"
    scenario.write_text(SCENARIO.format(protocol=protocol, version=version))
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass" and code == 0, (results["expectations"], results["error"],
                                                         evidence(tmp_path / "run"))
    versions = results["versions"]
    assert versions["kafka"] == version and versions["group_protocol"] == protocol   # as the broker says
    assert versions["consumer"] == f"confluent-kafka {metadata.version('confluent-kafka')}"
    assert [f["target"] for f in results["faults"]] == ["consumer(1)", "leader(orders, 0)"]
    assert all(f["error"] is None and f["healed_s"] > f["started_s"] for f in results["faults"])
    log = (tmp_path / "run" / "consumers" / "consumer-2.log").read_text()
    assert log.count("assigned [") >= 2, log[-2000:]   # it took over the killed member's partitions
