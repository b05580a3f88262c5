"""RabbitMQ 4.0 (Debian 13's) on this Debian 12 host, as a user would run it: its root filesystem
built on first use (or by `aftershock install rabbitmq=4.0`), then a quorum-queue run with a leader
kill and a leader partition on confirms and manual acks (nothing confirmed may be lost), every
fault applied and healed, the nodes' own release and Erlang recorded, no mount left behind."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.brokers.rabbitmq.dist import RELEASES, erlang_version
from harness.brokers.rabbitmq.roots import root_dir
from tests.integration.conftest import evidence, run_cli, run_scenario

pytestmark = pytest.mark.usefixtures("rabbitmq_available")

SCENARIO = """\
name: rabbitmq-release-{slug}
seed: 5
target:
  kind: rabbitmq
  version: "{version}"
  nodes: 3
  queue: {{name: orders, type: quorum}}
  broker_config: {{cluster_partition_handling: pause_minority}}
network: {{isolation: namespaces}}
producer: {{confirms: true, persistent: true, mandatory: true}}
consumer: {{group: orders-svc, instances: 1, ack: manual, prefetch: 50}}
load: {{users: 2, rate: 200, duration: 24s}}
faults:
  - {{at: 3s, action: kill, target: "leader(orders)", heal_after: 5s}}
  - {{at: 13s, action: partition, mode: isolate, target: "leader(orders)", heal_after: 6s}}
expect: {{lost: 0, unexpected: 0}}
"""


@pytest.mark.parametrize("version", [v for v, r in RELEASES.items() if r.suite is not None])
def test_a_rooted_release_survives_a_leader_kill_and_a_partition(version: str, tmp_path: Path) -> None:
    installed = run_cli(["install", f"rabbitmq={version}"], timeout=1800)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    suite = RELEASES[version].suite
    assert suite is not None and (root_dir(suite) / ".complete").exists()
    scenario = tmp_path / "release.yaml"
    scenario.write_text(SCENARIO.format(version=version, slug=version.replace(".", "-")))
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass" and code == 0, (results["expectations"], results["error"],
                                                         evidence(tmp_path / "run"))
    assert results["versions"]["rabbitmq"].startswith(f"{version}.")
    assert results["versions"]["erlang"] == erlang_version(root_dir(suite)) != erlang_version()
    assert [f["action"] for f in results["faults"]] == ["kill", "partition"]
    assert all(f["error"] is None and f["healed_s"] > f["started_s"] for f in results["faults"])
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout
    assert str(root_dir(suite)) not in mounts, "a mount into the root outlived the run"
