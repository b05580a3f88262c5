"""Issue 17 point 2 on real namespaces and iptables: a partition measures the reachability between
every pair of sides right after it strikes and after it heals, and says so when packets still flow
where the grudge meant to stop them (rules removed behind its back)."""

from __future__ import annotations

import os
import random
import subprocess
import time

import pytest

from harness.faults.partition import Partition, PartitionFault
from harness.network.namespaces import NamespaceNetwork
from harness.scenario.selectors import Selector
from tests.integration.conftest import network_leftovers

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="network namespaces need root")


class Env:
    """The slice of FaultEnv a partition uses, over real namespaces."""

    def __init__(self, network: NamespaceNetwork) -> None:
        self.network, self.rng, self.proxies = network, random.Random(1), None
        self.node_numbers = list(network.nodes)

    def node_of(self, selector: Selector) -> int:
        return selector.index


def fault(**entry: object) -> Partition:
    return Partition(PartitionFault.model_validate({"action": "partition", "at": 0, **entry}))


def test_each_mode_measures_the_reachability_it_means_and_full_reachability_after_heal() -> None:
    run_id = "as-7e570002"
    with NamespaceNetwork(run_id, [1, 2, 3]) as net:
        env = Env(net)
        assert net.reachability().describe() == "every pair reachable (6 pairs probed)"
        for entry, blocked in [
            ({"mode": "isolate", "target": "node(1)"}, "blocked node(1)-node(2), node(1)-node(3) "),
            ({"mode": "asymmetric", "between": "node(1)|node(2)"}, "blocked node(1)-node(2) "),
            ({"mode": "cut", "between": "client|node(3)"}, "blocked client-node(3) "),
        ]:
            partition = fault(**entry)
            partition.inject(env)
            started = time.monotonic()
            struck = partition.verify(env, healed=False)
            took = time.monotonic() - started
            assert struck is not None and struck.ok, (entry, struck)
            assert struck.detail.startswith(blocked), (entry, struck.detail)
            assert took < 10, f"one measurement of 6 pairs took {took:.1f}s"
            partition.heal(env)
            healed = partition.verify(env, healed=True)
            assert healed is not None and healed.ok and healed.detail.startswith("every pair reachable"), healed
    assert network_leftovers(run_id) == []


def test_a_partition_whose_rules_are_gone_is_measured_as_not_in_force() -> None:
    run_id = "as-7e570003"
    with NamespaceNetwork(run_id, [1, 2, 3]) as net:
        env = Env(net)
        partition = fault(mode="isolate", target="node(2)")
        partition.inject(env)
        for i in (1, 2, 3):   # someone flushes the rules behind the fault's back
            subprocess.run([*net.exec_prefix(i), "iptables", "-F", "INPUT"], check=True)
        found = partition.verify(env, healed=False)
        assert found is not None and not found.ok
        assert "node(1)-node(2) reachable, meant blocked" in found.detail
        assert "node(2)-node(3) reachable, meant blocked" in found.detail
        partition.heal(env)
    assert network_leftovers(run_id) == []
