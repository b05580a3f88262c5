"""Each tested Kafka release beside the default, as a user would run it: fetched with `aftershock
install`, then a run with a leader kill and a leader partition on acks=all, min.insync.replicas=2
(nothing acknowledged may be lost), every fault applied and healed, the node logs as full as on the
default release (its logging backend found), the release recorded in the results."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.brokers.kafka.dist import TESTED, kafka_version, libs_dir
from tests.integration.conftest import evidence, run_cli, run_scenario

pytestmark = pytest.mark.usefixtures("kafka_available")

SCENARIO = """\
name: kafka-release-{slug}
seed: 3
target:
  kind: kafka
  version: "{version}"
  nodes: 3
  broker_config: {{min.insync.replicas: 2, unclean.leader.election.enable: false, replica.lag.time.max.ms: 6000}}
  topic: {{name: orders, partitions: 3, replication_factor: 3}}
network: {{isolation: namespaces}}
producer: {{acks: all, enable_idempotence: true}}
load: {{users: 2, rate: 300, duration: 20s}}
consumer: {{group: orders-svc, instances: 1}}
faults:
  - {{at: 3s, action: kill, target: "leader(orders, 0)", heal_after: 4s}}
  - {{at: 11s, action: partition, mode: isolate, target: "leader(orders, 1)", heal_after: 5s}}
expect: {{lost: 0, unexpected: 0}}
"""


@pytest.mark.parametrize("version", [v for v in TESTED if v != kafka_version()])
def test_a_release_is_installed_and_survives_a_leader_kill_and_a_partition(version: str, tmp_path: Path) -> None:
    installed = run_cli(["install", f"kafka={version}"], timeout=900)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    assert f"ok kafka={version}" in installed.stdout and any(libs_dir(version).glob(f"kafka_2.13-{version}.jar"))
    scenario = tmp_path / "release.yaml"
    scenario.write_text(SCENARIO.format(version=version, slug=version.replace(".", "-")))
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass" and code == 0, (results["expectations"], results["error"],
                                                         evidence(tmp_path / "run"))
    assert results["versions"]["kafka"] == version
    assert [f["action"] for f in results["faults"]] == ["kill", "partition"]
    assert all(f["error"] is None and f["healed_s"] > f["started_s"] for f in results["faults"])
    for i in (1, 2, 3):
        node_log = (tmp_path / "run" / "nodes" / f"kafka-{i}" / "node.log").read_text()
        assert "Kafka Server started" in node_log, node_log[-2000:]
        assert "SLF4J: Defaulting to no-operation" not in node_log
