"""Eligible leader replicas (KIP-966) as the brokers report them: a cluster the harness formats on
4.1 or later keeps them (the default 4.4.0 included); on 4.0 (formatted without) and 3.9 there are
none. With min.insync.replicas equal to the replication factor, a follower stopped cleanly leaves
the ISR below min.isr and stays eligible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.brokers.kafka.cluster import KafkaCluster
from harness.brokers.kafka.dist import TESTED, release_tuple
from harness.brokers.kafka.spec import KafkaSpec
from harness.runtimes.local import LocalRuntime
from harness.wait import wait_until
from tests.integration.conftest import install, survivors

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
