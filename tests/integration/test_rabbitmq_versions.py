"""RabbitMQ 4.0 (Debian 13's) and 4.3 (Debian testing's) on this Debian 12 host, as a user would run
them: each root filesystem built on first use (or by `aftershock install rabbitmq=4.3`), then a
quorum-queue run with a leader kill and a leader partition on confirms and manual acks (nothing
confirmed may be lost), every fault applied and healed, the nodes' own release, Erlang and metadata
store recorded, no mount left behind; and Khepri opted into on 4.0."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.brokers.rabbitmq.dist import RELEASES, erlang_version
from harness.brokers.rabbitmq.roots import root_dir
from tests.integration.conftest import (
    RABBITMQ_RELEASE_SCENARIO as SCENARIO,
    assert_every_node_answered,
    install,
    run_scenario,
    verdict_report,
)

pytestmark = pytest.mark.usefixtures("rabbitmq_available")


@pytest.mark.parametrize("version", [v for v, r in RELEASES.items() if r.suite is not None])
def test_a_rooted_release_survives_a_leader_kill_and_a_partition(version: str, tmp_path: Path) -> None:
    release = RELEASES[version]
    # Mnesia's partition handling where the release has it (4.3 removed both: Khepri's majority decides).
    handling = "  broker_config: {cluster_partition_handling: pause_minority}\n"
    settings = "" if release.stores == ("khepri",) else handling
    results = _run_release(version, SCENARIO.format(version=version, slug=version.replace(".", "-"),
                                                    settings=settings), tmp_path)
    assert results["versions"]["metadata_store"] == release.stores[0]
    assert [f["action"] for f in results["faults"]] == ["kill", "partition"]


KHEPRI = """\
name: rabbitmq-4-0-khepri
seed: 6
target:
  kind: rabbitmq
  version: "4.0"
  metadata_store: khepri
  nodes: 3
  queue: {name: orders, type: quorum}
producer: {confirms: true, persistent: true, mandatory: true}
consumer: {group: orders-svc, instances: 1, ack: manual, prefetch: 50}
load: {users: 2, rate: 200, duration: 12s}
faults:
  - {at: 3s, action: kill, target: "leader(orders)", heal_after: 4s}
expect: {lost: 0, unexpected: 0}
"""


def test_khepri_is_opted_into_on_4_0_and_a_leader_kill_loses_nothing(tmp_path: Path) -> None:
    results = _run_release("4.0", KHEPRI, tmp_path)
    assert results["versions"]["metadata_store"] == "khepri"   # read back from the nodes' feature flags
    assert [f["action"] for f in results["faults"]] == ["kill"]


def _run_release(version: str, text: str, tmp_path: Path) -> dict:
    """The release installed (built on first use), the scenario run on it: a pass, faults healed,
    the release's own RabbitMQ and Erlang recorded, nothing left mounted into the root."""
    install(f"rabbitmq={version}", timeout=1800)
    suite = RELEASES[version].suite
    assert suite is not None and (root_dir(suite) / ".complete").exists()
    scenario = tmp_path / "release.yaml"
    scenario.write_text(text)
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass" and code == 0, verdict_report(results, code, tmp_path / "run")
    assert results["versions"]["rabbitmq"].startswith(f"{version}.")
    assert results["versions"]["erlang"] == erlang_version(root_dir(suite)) != erlang_version()
    assert all(f["error"] is None and f["healed_s"] > f["started_s"] for f in results["faults"])
    assert_every_node_answered(tmp_path / "run", "orders", 3)
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout
    assert str(root_dir(suite)) not in mounts, "a mount into the root outlived the run"
    return results
