"""rabbitmqctl beside a namespaced node hears every node's answer.

For list_queues each node sends its rows to the CLI's own Erlang node directly. Beside namespaced
nodes the CLI once named itself after the machine's hostname, which no other namespace could resolve
or reach: every listing waited out its 5 s timeout and came back without the other nodes' queues
(`{:badrpc, {:timeout, ...}}`), so leader lookups, drain probes and the replica report were slow or
missing on every namespaced RabbitMQ run. A queue homed on node 3, listed beside node 1, proves the
rows crossed namespaces; on 4.3 the CLI runs chrooted in the release's root too."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.brokers.rabbitmq import _processes
from harness.brokers.rabbitmq.dist import RELEASES
from harness.brokers.rabbitmq.queues import declare_queue
from harness.brokers.rabbitmq.spec import QueueSpec, RabbitSpec
from harness.network.namespaces import NamespaceNetwork
from harness.runtimes.local import LocalRuntime
from tests.integration.conftest import network_leftovers

pytestmark = pytest.mark.usefixtures("rabbitmq_available")


@pytest.mark.parametrize("version", ["3.10", "4.3"])
def test_a_listing_beside_one_namespaced_node_holds_every_nodes_queues(version: str, tmp_path: Path) -> None:
    if RELEASES[version].suite is not None:
        from harness.brokers.rabbitmq.roots import build

        build(RELEASES[version].suite, print, RELEASES[version].script)
    run_id = f"as-c11{version.replace('.', '')}000"
    spec = RabbitSpec(kind="rabbitmq", version=version, nodes=3, queue=QueueSpec(name="orders", type="quorum"))
    with NamespaceNetwork(run_id, [1, 2, 3]) as net:
        with _processes(spec, LocalRuntime(run_id, net), tmp_path) as cluster:
            declare_queue(cluster.endpoints[3], QueueSpec(name="homed-on-3", type="classic"))
            listed = cluster.ctl(1, "list_queues", "name", "type", "--no-table-headers", "--quiet",
                                 "--timeout", "5").stdout
            assert "badrpc" not in listed, listed
            assert sorted(line.split("\t")[0] for line in listed.splitlines()) == ["homed-on-3", "orders"]
            assert cluster.leader_of("homed-on-3") == 3
            assert set(cluster.replicas()) == {"homed-on-3", "orders"}
            assert cluster.backlog() == 0
    assert network_leftovers(run_id) == []
