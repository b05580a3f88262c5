"""Every socket a run opens listens on loopback or on the run's own namespace addresses: nothing
of a run (brokers, epmd, Erlang distribution, Toxiproxy, the downstream service, consumers, load)
is reachable from the network. Sockets are read from each process's own namespace's tables, so
nodes inside namespaces are seen too."""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cleanup import tagged_processes
from tests.integration.conftest import ROOT, assert_every_node_answered, network_leftovers, survivors

ALLOWED = [ipaddress.ip_network(n) for n in ("127.0.0.0/8", "::1/128", "198.18.0.0/15")]
TCP_LISTEN, UDP_UNCONNECTED = "0A", "07"


def _address(hex_addr: str) -> str:
    raw = bytes.fromhex(hex_addr)
    if len(raw) == 4:
        return socket.inet_ntop(socket.AF_INET, raw[::-1])
    words = b"".join(raw[i:i + 4][::-1] for i in range(0, 16, 4))   # four little-endian 32-bit words
    return socket.inet_ntop(socket.AF_INET6, words)


def listening_sockets(pid: int) -> list[tuple[str, str, int]]:
    """(protocol, address, port) of each TCP listener and unconnected UDP socket process `pid` holds,
    from the tables of the network namespace it is in."""
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
        inodes = set()
        for fd in fds:
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                inodes.add(link[8:-1])
        found = []
        for proto in ("tcp", "tcp6", "udp", "udp6"):
            with open(f"/proc/{pid}/net/{proto}") as table:
                for line in table.readlines()[1:]:
                    fields = line.split()
                    addr, port = fields[1].split(":")
                    wanted = TCP_LISTEN if proto.startswith("tcp") else UDP_UNCONNECTED
                    if fields[9] in inodes and fields[3] == wanted:
                        found.append((proto, _address(addr), int(port, 16)))
        return found
    except OSError:
        return []   # the process ended meanwhile


def exposed(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not any(ip in net for net in ALLOWED)


def _names(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return f.read().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "?"


def run_and_watch_listeners(tmp_path: Path, scenario: str) -> tuple[dict, dict[str, set]]:
    """Runs the scenario with the CLI while sampling the listening sockets of every process tagged
    with its run id; returns (results.json, {command line: {(proto, address, port)}})."""
    path = tmp_path / "s.yaml"
    path.write_text(scenario)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(path), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    seen: dict[str, set] = {}
    previous: set = set()   # a UDP socket counts once it outlives a sample: a DNS query's lives milliseconds
    run_id = None
    deadline = time.monotonic() + 240
    while proc.poll() is None:
        assert time.monotonic() < deadline, "the run did not end"
        log = out / "harness.log"
        if run_id is None and log.exists():
            found = re.search(r" run (as-[0-9a-f]+) ", log.read_text())
            run_id = found.group(1) if found else None
        if run_id:
            now = set()
            for pid, rid in tagged_processes().items():
                if rid == run_id:
                    socks = {(pid, s) for s in listening_sockets(pid)}
                    now |= socks
                    seen.setdefault(_names(pid), set()).update(
                        s for p, s in socks if s[0].startswith("tcp") or (p, s) in previous)
            previous = now
        time.sleep(0.5)
    output = proc.stdout.read().decode(errors="replace") if proc.stdout else ""
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "pass", f"{results['error']}\n{output[-3000:]}"
    assert survivors(results["run_id"]) == []
    assert network_leftovers(results["run_id"]) == []
    return results, seen


def assert_nothing_exposed(seen: dict[str, set], expected: list[str]) -> None:
    wide = {cmd: sorted(s for s in socks if exposed(s[1])) for cmd, socks in seen.items()}
    assert not any(wide.values()), f"sockets listening beyond loopback and the run's namespaces: " \
                                   f"{ {c: s for c, s in wide.items() if s} }"
    for what in expected:   # the processes that must have been seen listening, or the test proves nothing
        assert any(what in cmd and socks for cmd, socks in seen.items()), \
            f"no listening {what} seen among {sorted(seen)}"


KAFKA = """\
name: listeners-kafka
target: {{kind: kafka, nodes: 2, topic: {{name: orders, partitions: 2, replication_factor: 2}}}}
network: {{isolation: {isolation}}}
producer: {{acks: all}}
load: {{users: 1, rate: 100, duration: 6s}}
consumer: {{instances: 1}}
faults:
  - {{at: 1s, action: latency, link: "client->any", latency: 5ms, heal_after: 3s}}
"""

RABBIT = """\
name: listeners-rabbitmq
target: {{kind: rabbitmq, nodes: 2, queue: {{name: orders, type: quorum}}}}
network: {{isolation: {isolation}}}
producer: {{confirms: true}}
load: {{users: 1, rate: 100, duration: 6s}}
consumer: {{instances: 1, ack: manual}}
faults:
  - {{at: 1s, action: latency, link: "client->any", latency: 5ms, heal_after: 3s}}
"""


def _isolations() -> list:
    root = os.geteuid() == 0
    return ["none", pytest.param("namespaces", marks=pytest.mark.skipif(not root, reason="namespaces need root"))]


@pytest.mark.usefixtures("kafka_available")
@pytest.mark.parametrize("isolation", _isolations())
def test_a_kafka_run_listens_only_on_loopback_and_its_namespaces(tmp_path: Path, isolation: str) -> None:
    _, seen = run_and_watch_listeners(tmp_path, KAFKA.format(isolation=isolation))
    assert_nothing_exposed(seen, ["java", "toxiproxy"])


@pytest.mark.usefixtures("rabbitmq_available")
@pytest.mark.parametrize("isolation", _isolations())
def test_a_rabbitmq_run_listens_only_on_loopback_and_its_namespaces(tmp_path: Path, isolation: str) -> None:
    _, seen = run_and_watch_listeners(tmp_path, RABBIT.format(isolation=isolation))
    assert_nothing_exposed(seen, ["beam", "epmd", "toxiproxy"])
    assert_every_node_answered(tmp_path / "run", "orders", 2)   # rabbitmqctl's own listener reachable


@pytest.mark.usefixtures("rabbitmq_available")
def test_an_erlang_vm_started_beside_a_local_node_listens_on_loopback(tmp_path: Path) -> None:
    """The node spawns a short-lived `erl -sname` at boot to make sure epmd runs: it inherits only the
    node's environment, not its arguments, and once listened on 0.0.0.0 (seen by the test above in
    fresh-ci, 1 sample in ~100 runs). Any Erlang VM given a node's environment must listen on loopback."""
    from harness.brokers.rabbitmq.cluster import RabbitCluster
    from harness.brokers.rabbitmq.spec import RabbitSpec
    from harness.runtimes.local import LocalRuntime

    cluster = RabbitCluster(RabbitSpec(kind="rabbitmq", nodes=1), LocalRuntime("as-listen"), tmp_path)
    env = {**os.environ, **cluster._env(1)}
    Path(env["HOME"]).mkdir(parents=True, exist_ok=True)   # where erl keeps its cookie
    probe = subprocess.Popen(["erl", "-sname", f"probe{os.getpid()}", "-noinput", "-eval",
                              "timer:sleep(20000), halt()."], env=env)
    try:
        deadline, found = time.monotonic() + 15, []
        while not found and time.monotonic() < deadline:
            found = [s for p in [probe.pid, *_children(probe.pid)] for s in listening_sockets(p)
                     if s[0].startswith("tcp")]
            time.sleep(0.1)
        assert found, "the probe VM never listened"
        assert [s for s in found if exposed(s[1])] == [], f"an Erlang VM beside a node listened on {found}"
    finally:
        probe.kill()
        probe.wait()
        subprocess.run(["epmd", "-port", env["ERL_EPMD_PORT"], "-kill"], capture_output=True, timeout=10)


def _children(pid: int) -> list[int]:
    """erl's launcher may exec beam.smp in place or run it as a child."""
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(c) for c in f.read().split()]
    except OSError:
        return []
