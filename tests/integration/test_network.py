"""Network faults on real parts: Toxiproxy toxics on real sockets, iptables partitions between
real network namespaces, and the shipped network scenarios' verdicts."""

from __future__ import annotations

import contextlib
import random
import socket
import socketserver
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.faults.partition import Partition, PartitionFault
from harness.faults.toxics import ProxyDown, Toxic, ToxicFault
from harness.network.namespaces import NamespaceNetwork
from harness.runtimes.local import LocalRuntime
from harness.scenario.selectors import Selector
from harness.services.proxies import ProxyNet
from harness.services.toxiproxy import ToxiproxyServer
from tests.integration.conftest import (
    ROOT,
    assert_second_opinion_agrees,
    checked_by_replica_logs,
    network_leftovers,
    run_scenario,
    survivors,
)


class Env:
    """The slice of FaultEnv these faults use, over real proxies or namespaces."""

    def __init__(self, proxies=None, network=None, nodes=(1, 2, 3)):  # type: ignore[no-untyped-def]  # a stand-in
        self.proxies, self.network, self.rng = proxies, network, random.Random(1)
        self.node_numbers = list(nodes)
        self.greeting = b"ping"   # the echo server answers it at once

    def node_of(self, selector: Selector) -> int:
        return selector.index


class Echo(socketserver.BaseRequestHandler):
    def handle(self) -> None:
        while data := self.request.recv(64):
            self.request.sendall(data)


def round_trip_ms(port: int, samples: int = 5, host: str = "127.0.0.1") -> float:
    with socket.create_connection((host, port), timeout=10) as sock:
        times = []
        for _ in range(samples):
            start = time.monotonic()
            sock.sendall(b"ping")
            assert sock.recv(64) == b"ping"
            times.append((time.monotonic() - start) * 1000)
    return sorted(times)[len(times) // 2]


@pytest.fixture
def toxiproxy_available() -> None:
    from harness.errors import EnvironmentProblem
    from harness.services.toxiproxy import toxiproxy_binary

    try:
        toxiproxy_binary()
    except EnvironmentProblem as exc:
        pytest.skip(str(exc))


@contextlib.contextmanager
def proxied_echo(run_id: str, tmp_path: Path) -> Iterator[tuple[ToxiproxyServer, ProxyNet]]:
    """A real Toxiproxy with one proxy (producer -> node 1) in front of an echo server."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    runtime = LocalRuntime(run_id)
    try:
        with ToxiproxyServer(runtime, tmp_path) as toxiproxy:
            proxies = ProxyNet(runtime, {("producer", 1): ("127.0.0.1", server.server_address[1])})
            proxies.create(toxiproxy.client)
            yield toxiproxy, proxies
    finally:
        server.shutdown()


@pytest.mark.usefixtures("toxiproxy_available")
def test_latency_toxic_adds_the_expected_delay_to_a_real_round_trip(tmp_path: Path) -> None:
    with proxied_echo("as-test-toxic", tmp_path) as (toxiproxy, proxies):
        port = proxies.endpoints()[("producer", 1)][1]
        before = round_trip_ms(port)
        fault = Toxic(ToxicFault(action="latency", link="producer->node(1)", latency="150ms", at=0))
        assert fault.inject(Env(proxies)) == ["producer-n1"]
        during = round_trip_ms(port)
        struck = fault.verify(Env(proxies), healed=False)   # what the run journals beside the fault
        fault.heal(Env(proxies))
        after = round_trip_ms(port)
        healed = fault.verify(Env(proxies), healed=True)
        # a toxic removed behind the fault's back: the round trip shows it is not in force
        again = Toxic(ToxicFault(action="latency", link="producer->node(1)", latency="150ms", at=0))
        again.inject(Env(proxies))
        for proxy, name in again.added:
            toxiproxy.client.remove_toxic(proxy, name)
        gone = again.verify(Env(proxies), healed=False)
    assert before < 50
    assert 300 <= during < 450  # 150 ms each way
    assert after < 50
    assert struck is not None and struck.ok and "answered in 3" in struck.detail, struck
    assert healed is not None and healed.ok and healed.detail == "no toxic left", healed
    assert gone is not None and not gone.ok, gone
    assert survivors("as-test-toxic") == []


@pytest.mark.usefixtures("toxiproxy_available")
def test_a_proxy_taken_down_refuses_connections_and_answers_again_once_healed(tmp_path: Path) -> None:
    with proxied_echo("as-test-down", tmp_path) as (_, proxies):
        fault = ProxyDown(ToxicFault(action="down", link="producer->node(1)", at=0))
        fault.inject(Env(proxies))
        down = fault.verify(Env(proxies), healed=False)
        fault.heal(Env(proxies))
        up = fault.verify(Env(proxies), healed=True)
        reset = Toxic(ToxicFault(action="reset_peer", link="producer->node(1)", at=0))
        reset.inject(Env(proxies))
        cut = reset.verify(Env(proxies), healed=False)
        reset.heal(Env(proxies))
    assert down is not None and down.ok and "refused" in down.detail, down
    assert up is not None and up.ok and "answered" in up.detail, up
    assert cut is not None and cut.ok and "closed" in cut.detail, cut
    assert survivors("as-test-down") == []


PROBE = """
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
    print("open")
except OSError as exc:
    print("blocked", exc)
"""


def reachable(net: NamespaceNetwork, src: int, dst: int, port: int) -> bool:
    out = subprocess.run([*net.exec_prefix(src), sys.executable, "-c", PROBE, net.address(dst), str(port)],
                         capture_output=True, text=True, timeout=20).stdout
    return out.startswith("open")


def test_isolate_partition_stops_traffic_between_namespaces_and_heal_restores_it() -> None:
    import os

    if os.geteuid() != 0:
        pytest.skip("network namespaces need root")
    run_id = "as-7e570001"
    with NamespaceNetwork(run_id, [1, 2, 3]) as net:
        listeners = [subprocess.Popen([*net.exec_prefix(i), sys.executable, "-c",
                                       "import socket,time; s=socket.create_server(('0.0.0.0', 7000));"
                                       " time.sleep(120)"])
                     for i in (1, 2, 3)]
        try:
            time.sleep(1)
            assert reachable(net, 1, 2, 7000) and reachable(net, 2, 3, 7000)
            fault = Partition(PartitionFault(action="partition", mode="isolate", target="node(1)", at=0))
            resolved = fault.inject(Env(network=net))
            assert "node(1) drops node(2), node(3)" in resolved
            assert not reachable(net, 1, 2, 7000) and not reachable(net, 3, 1, 7000)
            assert reachable(net, 2, 3, 7000)
            fault.heal(Env(network=net))
            assert reachable(net, 1, 2, 7000) and reachable(net, 3, 1, 7000)
        finally:
            for proc in listeners:
                proc.kill()
                proc.wait()
    assert network_leftovers(run_id) == []


@pytest.mark.usefixtures("kafka_available", "rabbitmq_available", "toxiproxy_available")
@pytest.mark.parametrize("name", [
    "kafka-partition-leader-isolated",
    "kafka-unclean-election-partition",
    "kafka-slow-network",
    "rabbitmq-quorum-partition",
    "kafka-nemesis-mix",
])
def test_shipped_network_scenario_gives_its_expected_verdict(tmp_path: Path, name: str) -> None:
    scenario = ROOT / "scenarios" / f"{name}.yaml"
    if name.startswith("kafka-"):
        scenario = checked_by_replica_logs(scenario, tmp_path / "in")
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass", (results["expectations"], results["error"])
    assert code == 0
    if name.startswith("kafka-"):
        assert_second_opinion_agrees(results)
    assert results["faults"] and all(f["error"] is None for f in results["faults"])
    assert all(f["healed_s"] is not None for f in results["faults"])
    if name == "kafka-slow-network":
        assert results["metrics"]["produce_latency_p99_ms"] >= 300
