"""Each tested Kafka release beside the default, as a user would run it: fetched with `aftershock
install`, then a run with a leader kill and a leader partition on acks=all, min.insync.replicas=2
(nothing acknowledged may be lost), every fault applied and healed, the node logs as full as on the
default release (its logging backend found), the release recorded in the results. On the newest
tested release the consumers are the confluent-kafka service on KIP-848's group protocol, as a user
of 4.x would run them: one is killed too, and the protocol the broker says the group ran is recorded."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from harness.brokers.kafka.dist import TESTED, kafka_version, libs_dir, release_tuple
from tests.integration.conftest import RELEASE_SCENARIO, install, run_scenario, verdict_report

pytestmark = pytest.mark.usefixtures("kafka_available")

NEWEST = max(TESTED, key=release_tuple)
# librdkafka's KIP-848 member can lose a partition handover for good when the coordinator stalls (once in
# CI, once in 16 runs here beside a busy loop: one partition consumed by no member to the end, new members
# never assigned it; docs/notes.md). Such a run is an error, never a pass; the test tries twice.
KIP848_ATTEMPTS = 2

# Every release but the default (the rest of the suite runs that), and the newest always: it is the one
# the KIP-848 consumer protocol runs on here, default or not.
@pytest.mark.parametrize("version", [v for v in TESTED if v != kafka_version() or v == NEWEST])
def test_a_release_is_installed_and_survives_a_leader_kill_and_a_partition(version: str, tmp_path: Path) -> None:
    installed = install(f"kafka={version}")
    assert f"ok kafka={version}" in installed.stdout and any(libs_dir(version).glob(f"kafka_2.13-{version}.jar"))
    scenario = tmp_path / "release.yaml"
    kip848 = version == NEWEST
    consumer = ("{group: orders-svc, instances: 2, client: confluent-kafka, group_protocol: consumer}" if kip848
                else "{group: orders-svc, instances: 1}")
    consumer_kill = '\n  - {at: 7s, action: kill, target: "consumer(1)", heal_after: 3s}' if kip848 else ""
    scenario.write_text(RELEASE_SCENARIO.format(version=version, slug=version.replace(".", "-"), consumer=consumer,
                                                consumer_kill=consumer_kill))
    run = tmp_path / "run"
    for attempt in range(1, KIP848_ATTEMPTS + 1):
        code, results = run_scenario(scenario, run)
        stuck = kip848 and results["verdict"] == "error" and "consumers stopped short" in (results["error"] or "")
        if not stuck or attempt == KIP848_ATTEMPTS:
            break
        # The harness said so (error, never pass); the test wants the release's run, so it tries once more,
        # on another seed, and says it did.
        warnings.warn(f"KIP-848 attempt {attempt} of {KIP848_ATTEMPTS}: {verdict_report(results, code, run)}",
                      stacklevel=1)
        shutil.rmtree(run)
        scenario.write_text(scenario.read_text().replace(f"seed: {2 + attempt}", f"seed: {3 + attempt}"))
    assert results["verdict"] == "pass" and code == 0, verdict_report(results, code, run)
    assert results["versions"]["kafka"] == version
    # the schedule runs in time order: the consumer kill (7 s) between the leader kill and the partition
    assert [(f["action"], f["target"].split("(")[0]) for f in results["faults"]] == [
        ("kill", "leader"), *([("kill", "consumer")] if kip848 else []), ("partition", "isolate leader")]
    versions = results["versions"]
    assert versions["group_protocol"] == ("consumer" if kip848 else "classic")   # as the broker says
    assert versions["consumer"].split()[0] == ("confluent-kafka" if kip848 else "kafka-python")
    if kip848:   # the other member took over the killed one's partitions, incrementally
        log = (run / "consumers" / "consumer-2.log").read_text()
        assert log.count("assigned [") >= 2, log[-2000:]
    assert all(f["error"] is None and f["healed_s"] > f["started_s"] for f in results["faults"])
    for i in (1, 2, 3):
        node_log = (run / "nodes" / f"kafka-{i}" / "node.log").read_text()
        assert "Kafka Server started" in node_log, node_log[-2000:]
        assert f"Kafka version: {version}" in node_log   # the release itself says so
        assert "SLF4J: Defaulting to no-operation" not in node_log
