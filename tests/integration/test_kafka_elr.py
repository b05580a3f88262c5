"""Eligible leader replicas (KIP-966) as the brokers report them: a cluster the harness formats on
4.1 or later keeps them (the default 4.4.0 included); on 4.0 (formatted without) and 3.9 there are
none. With min.insync.replicas equal to the replication factor, a follower stopped cleanly leaves
the ISR below min.isr and stays eligible. And what they change for a user: the shipped scenario
kafka-elr-across-versions, where 4.4.0 serves again from an eligible replica while 3.9.1 waits
for its last in-sync replica."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from harness.brokers.kafka.cluster import KafkaCluster
from harness.brokers.kafka.dist import TESTED, release_tuple
from harness.brokers.kafka.spec import KafkaSpec
from harness.runtimes.local import LocalRuntime
from harness.wait import wait_until
from tests.integration.conftest import ROOT, install, run_cli, survivors

pytestmark = pytest.mark.usefixtures("kafka_available")


@pytest.mark.parametrize("version", TESTED)
def test_a_cleanly_stopped_follower_stays_eligible_where_the_release_keeps_elr(tmp_path: Path,
                                                                               version: str) -> None:
    install(f"kafka={version}")
    spec = KafkaSpec(kind="kafka", nodes=3, version=version, broker_config={"min.insync.replicas": 3})
    run_id = f"as-test-elr-{version.replace('.', '')}"
    with KafkaCluster(spec, LocalRuntime(run_id), tmp_path) as cluster:
        def orders0() -> dict[str, Any]:
            return next(p for p in cluster.admin.replica_state("orders") if p["partition"] == 0)

        before = orders0()
        assert sorted(before["isr"]) == [1, 2, 3] and before["elr"] == [], before
        follower = next(i for i in before["replicas"] if i != before["leader"])
        cluster.nodes[follower].terminate(timeout=30)   # controlled shutdown: out of the ISR at once
        after = wait_until(lambda: (lambda p: p if follower not in p["isr"] else None)(orders0()),
                           what=f"node {follower} out of the ISR of orders/0", timeout=60, give_up_on=())
        if release_tuple(version) >= (4, 1, 0):
            assert after["elr"] == [follower], after     # below min.isr: eligible, not forgotten
            assert after["last_known_elr"] == [], after
        else:
            assert after["elr"] == [] and after["last_known_elr"] == [], after
        assert after["leader"] == before["leader"] and len(after["isr"]) == 2, after
    assert survivors(run_id) == []


def _elr_elections(run: Path) -> dict[str, set[tuple[int, int]]]:
    """What the controllers logged of leaders elected from the ELR: topic -> {(partition, leader)}."""
    topics, elected = {}, set()
    for log in sorted(run.glob("nodes/kafka-*/node.log")):
        text = log.read_text(errors="replace")
        topics.update({tid: name for name, tid in re.findall(r"new partition (\S+)-\d+ with topic ID (\S+)", text)})
        elected |= {(tid, int(p), int(to)) for tid, p, to in
                    re.findall(r"Setting new leader for topicId (\S+), partition (\d+) to (\d+) using ELR", text)}
    found: dict[str, set[tuple[int, int]]] = {}
    for tid, partition, leader in elected:
        found.setdefault(topics.get(tid, tid), set()).add((partition, leader))
    return found


_TIMELINE = re.compile("|".join((r"Fencing broker \d+", r"Registering a new incarnation of broker \d+",
                                  r"Generated \d+ record\(s\) to clean up", r"The request from broker \d+ to",
                                  r"Setting new leader for topicId \S+, partition 0 to \d+ using ELR")))


def _controller_timeline(run: Path) -> str:
    """What the controllers did with the brokers (fencing, registrations, ELR elections), in order: printed
    when the test fails, so that a run that went the other way on CI says why."""
    lines = set()
    for log in run.glob("nodes/kafka-*/node.log"):
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("[") and _TIMELINE.search(line):
                lines.add(line[:200])
    return "\n".join(sorted(lines))


def test_an_eligible_replica_leads_again_on_4_4_while_3_9_waits_for_its_last_in_sync_replica(
        tmp_path: Path) -> None:
    """Three brokers beside three dedicated controllers: brokers 1 and 2 stopped cleanly, broker 3
    (the last in-sync replica of every partition) killed, 1 and 2 started again 14 s before 3. Each
    release's own expectation holds (the scenario's matrix_expect), and the controllers' logs say why."""
    install("kafka=3.9.1")
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    done = run_cli(["run", str(ROOT / "scenarios" / "kafka-elr-across-versions.yaml"), "--out", str(out),
                    "--junit", str(junit)], timeout=900)
    timelines = "\n".join(f"--- {run.name}: controllers\n{_controller_timeline(run)}"
                          for run in sorted(out.glob("version-*")))
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-3000:] + timelines
    data = json.loads((out / "comparison.json").read_text())
    assert [row["variant"] for row in data["variants"]] == ["version=3.9.1", "version=4.4.0"]
    recovery = {}
    for version in ("3.9.1", "4.4.0"):
        run = out / f"version-{version}"
        results = json.loads((run / "results.json").read_text())
        assert results["verdict"] == "pass" and results["versions"]["kafka"] == version, results["expectations"]
        assert [(f["action"], f["resolved"]) for f in results["faults"]] == [
            ("stop", ["kafka-1"]), ("stop", ["kafka-2"]), ("kill", ["kafka-3"])], results["faults"]
        assert all(f["error"] is None and f["healed_s"] is not None for f in results["faults"])
        assert results["counts"]["lost"] == 0 and results["counts"]["acknowledged"] >= 5000
        # what each broker reported running once the cluster was ready (DescribeConfigs)
        assert results["settings"] == {"broker": {str(i): {"min.insync.replicas": "2",
                                                           "unclean.leader.election.enable": "false"}
                                                  for i in (1, 2, 3)}}, results["settings"]
        recovery[version] = results["metrics"]["max_produce_recovery_ms"]
        elections = _elr_elections(run)
        if version == "4.4.0":   # every partition of the run's topic led again by broker 2, from the ELR
            assert elections.get("orders") == {(p, 2) for p in range(6)}, (elections, timelines)
        else:
            assert elections == {}, elections
        assert survivors(results["run_id"]) == []
    assert recovery["3.9.1"] >= 16000 >= recovery["4.4.0"], (recovery, timelines)
