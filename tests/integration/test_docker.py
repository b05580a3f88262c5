"""The Docker runtime on a real engine (started by the docker_engine fixture): a cluster of
containers, every fault kind seen from the cluster's side, verdict parity with the local
runtime, and nothing labelled by a run left behind, even when the run is interrupted."""

from __future__ import annotations

import json
import random
import re
import signal
import socket
import socketserver
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.brokers.rabbitmq.dist import RELEASES, erlang_version
from harness.brokers.rabbitmq.roots import root_dir
from tests.integration.conftest import (
    DOCKER_KAFKA_RELEASE,
    DOCKER_RABBITMQ_RELEASE,
    RABBITMQ_RELEASE_SCENARIO,
    RELEASE_SCENARIO,
    ROOT,
    run_scenario,
    survivors,
    verdict_report,
)

pytestmark = pytest.mark.usefixtures("docker_engine", "kafka_available")


def labelled(run_id: str) -> list[str]:
    """Containers, networks and volumes the engine still has for this run."""
    import docker

    from harness.runtimes.docker import LABEL

    client = docker.from_env(version="auto")
    selector = {"label": f"{LABEL}={run_id}"}
    return ([f"container {c.name}" for c in client.containers.list(all=True, filters=selector)]
            + [f"network {n.name}" for n in client.networks.list(filters=selector)]
            + [f"volume {v.name}" for v in client.volumes.list(filters=selector)])


def reachable(network, source: int, address: str, port: int) -> bool:  # type: ignore[no-untyped-def]  # network: a ContainerNetwork
    """A TCP connect from inside node `source`'s network namespace."""
    probe = (f"import socket; s = socket.socket(); s.settimeout(2); "
             f"s.connect(({address!r}, {port})); print('ok')")
    done = subprocess.run([*network.exec_prefix(source), sys.executable, "-c", probe],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip() == "ok"


def host_reaches(address: str, port: int) -> bool:
    """A TCP connect from the host, where the load and the consumers run."""
    try:
        socket.create_connection((address, port), timeout=2).close()
        return True
    except OSError:
        return False


def test_kafka_on_containers_sees_every_fault_kind(tmp_path: Path) -> None:
    from harness.brokers.kafka.image_cluster import KafkaImageCluster
    from harness.brokers.kafka.spec import KafkaSpec
    from harness.faults.partition import Partition, PartitionFault
    from harness.network import grudges
    from harness.network.containers import ContainerNetwork
    from harness.runtimes.docker import DockerRuntime, engine
    from harness.wait import wait_until

    run_id = "as-d0c4e7a1"
    spec = KafkaSpec(kind="kafka", nodes=3, broker_config={"min.insync.replicas": 2})
    with ContainerNetwork(engine(), run_id, [1, 2, 3]) as network, \
            DockerRuntime(run_id, network) as runtime, \
            KafkaImageCluster(spec, runtime, tmp_path) as cluster:
        assert labelled(run_id), "the run's containers and network carry its label"
        assert cluster.nodes[1].container.attrs["Config"]["Image"] == runtime.images["kafka"]  # the broker's image
        node1 = cluster.nodes[1]
        port1 = cluster.broker_ports[1]
        # partition: node 2 can no longer reach node 1; heal restores it
        assert reachable(network, 2, network.address(1), port1)
        network.partition(1, grudges.isolate(1, [1, 2, 3]))
        assert not reachable(network, 2, network.address(1), port1)
        network.heal(1)
        assert reachable(network, 2, network.address(1), port1)
        # disconnect: node 1 off the run network, for the other nodes and the host's clients alike;
        # healed, it is back at its own address and the cluster counts it live again
        fault = Partition(PartitionFault(action="partition", at=0, mode="disconnect", target="node(1)"))
        env = SimpleNamespace(network=network, node_numbers=[1, 2, 3], node_of=lambda sel: sel.index,
                              rng=random.Random(1))
        assert fault.inject(env) == ["node(1) disconnected from the run network"]  # type: ignore[arg-type]  # a stand-in FaultEnv
        assert not reachable(network, 2, network.address(1), port1)
        assert not host_reaches(network.address(1), port1)
        wait_until(lambda: 1 not in cluster.live_brokers(), what="the disconnected broker to be fenced",
                   timeout=60, interval=1, give_up_on=())
        fault.heal(env)  # type: ignore[arg-type]  # a stand-in FaultEnv
        assert reachable(network, 2, network.address(1), port1) and host_reaches(network.address(1), port1)
        wait_until(lambda: 1 in cluster.live_brokers(), what="the reconnected broker back", timeout=90,
                   interval=1, give_up_on=())
        # pause: the cgroup freezer; the cluster notices the silent broker and fences it
        node1.pause()
        node1.container.reload()
        assert node1.container.attrs["State"]["Paused"]
        wait_until(lambda: 1 not in cluster.live_brokers(), what="the paused broker to be fenced",
                   timeout=60, interval=1, give_up_on=())
        node1.resume()
        wait_until(lambda: 1 in cluster.live_brokers(), what="the resumed broker back", timeout=90, interval=1,
                   give_up_on=())
        # kill: SIGKILL, exit 137; started again at the same address, it rejoins
        node1.kill()
        node1.container.reload()
        assert node1.container.attrs["State"]["ExitCode"] == 137 and not node1.alive
        node1.start()
        wait_until(lambda: 1 in cluster.live_brokers(), what="the killed broker back", timeout=90, interval=1,
                   give_up_on=())
        assert network.address(1) in (tmp_path / "nodes" / "kafka-1" / "server.properties").read_text()
    assert labelled(run_id) == []


def test_toxiproxy_runs_as_a_container_on_the_run_network(tmp_path: Path) -> None:
    """The proxy listens at its own address on the run network, reaches the host at the gateway,
    its toxics act on real round trips, and client-side partitions cover its address too."""
    from harness.faults.toxics import Toxic, ToxicFault
    from harness.network import grudges
    from harness.network.containers import PROXY_NODE, ContainerNetwork
    from harness.runtimes.base import ImageContract, ProcessSpec
    from harness.runtimes.docker import DockerRuntime, engine
    from harness.services.proxies import ProxyNet
    from harness.services.toxiproxy import ToxiproxyServer
    from tests.integration.test_network import Echo, Env, round_trip_ms

    run_id = "as-d0c4e7a2"
    with ContainerNetwork(engine(), run_id, [1]) as network, DockerRuntime(run_id, network) as runtime:
        server = socketserver.ThreadingTCPServer((network.client_address, 0), Echo)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        # node 1: any container to partition (a second Toxiproxy, idle)
        idle = ImageContract(role="toxiproxy", command=["-host=0.0.0.0"])
        node = runtime.process(ProcessSpec(name="idle-1", argv=[], log_path=tmp_path / "idle.log", node=1, image=idle))
        try:
            with ToxiproxyServer(runtime, tmp_path) as toxiproxy:
                assert toxiproxy.dial_host == network.address(PROXY_NODE)
                assert any(name.endswith("-toxiproxy") for name in labelled(run_id))
                proxies = ProxyNet(None, {("producer", 1): (network.client_address, server.server_address[1])},
                                   server=toxiproxy)
                proxies.create(toxiproxy.client)
                host, port = proxies.endpoints()[("producer", 1)]
                assert host == network.address(PROXY_NODE)
                before = round_trip_ms(port, host=host)
                fault = Toxic(ToxicFault(action="latency", link="producer->node(1)", latency="150ms", at=0))
                assert fault.inject(Env(proxies)) == ["producer-n1"]
                during = round_trip_ms(port, host=host)
                fault.heal(Env(proxies))
                after = round_trip_ms(port, host=host)
                node.start()
                network.partition(1, grudges.cut(grudges.CLIENT, 1))
                rules = network.rules(1)
                network.heal(1)
        finally:
            server.shutdown()
            node.kill()
    assert before < 50 and 300 <= during < 450 and after < 50, (before, during, after)
    # a client-side cut drops the host's and the proxy's addresses alike
    assert f"-s {network.client_address}/32 -j DROP" in rules and f"-s {network.address(PROXY_NODE)}/32" in rules
    assert labelled(run_id) == []


@pytest.mark.parametrize("name", [
    "kafka-leader-kill-acks-all",
    "rabbitmq-quorum-confirms",
    "kafka-partition-leader-isolated",
])
def test_same_verdict_on_containers_as_on_local_processes(tmp_path: Path, name: str) -> None:
    code, results = run_scenario(ROOT / "scenarios" / f"{name}.yaml", tmp_path / "run", extra=["--runtime", "docker"])
    assert results["verdict"] == "pass", (results["expectations"], results["error"])
    assert code == 0 and results["counts"]["lost"] == 0
    assert all(f["error"] is None for f in results["faults"])
    assert json.loads((tmp_path / "run" / "scenario.resolved.json").read_text())["runtime"] == "docker"
    broker = name.split("-")[0]
    assert results["versions"]["image"].startswith(f"aftershock/{broker}:"), results["versions"]   # its image
    assert results["versions"][broker] != "unknown", results["versions"]   # as the broker itself says
    assert labelled(results["run_id"]) == []


def _release_on_containers(tmp_path: Path, text: str, image: str, broker: str, release: str) -> list[str]:
    """A release's run on containers: a pass through a leader kill and a partition, from `image`, the
    broker's own version recorded (it starts with `release`), nothing labelled left behind; returns
    each node's log, where the broker names its release."""
    scenario = tmp_path / "release.yaml"
    scenario.write_text(text)
    code, results = run_scenario(scenario, tmp_path / "run", extra=["--runtime", "docker"])
    assert results["verdict"] == "pass" and code == 0, verdict_report(results, code, tmp_path / "run")
    assert results["versions"]["image"] == image and results["versions"][broker].startswith(release), \
        results["versions"]
    assert [f["action"] for f in results["faults"]] == ["kill", "partition"]
    assert all(f["error"] is None and f["healed_s"] > f["started_s"] for f in results["faults"])
    assert labelled(results["run_id"]) == []
    return [log.read_text() for log in sorted((tmp_path / "run" / "nodes").glob("*/node.log"))]


def test_a_release_other_than_the_default_runs_in_its_own_image(tmp_path: Path) -> None:
    """target.version on containers: the nodes run the stand-in built for that release, through a leader
    kill and a partition, losing nothing, and the brokers themselves say which release they are."""
    logs = _release_on_containers(tmp_path, RELEASE_SCENARIO.format(
        version=DOCKER_KAFKA_RELEASE, slug="on-containers", consumer="{group: orders-svc, instances: 1}",
        consumer_kill=""), f"aftershock/kafka:{DOCKER_KAFKA_RELEASE}", "kafka", DOCKER_KAFKA_RELEASE)
    assert len(logs) == 3 and all(f"Kafka version: {DOCKER_KAFKA_RELEASE}" in log for log in logs), logs[0][-2000:]


def test_a_rabbitmq_4_release_runs_in_an_image_on_its_debian_root(tmp_path: Path) -> None:
    """RabbitMQ's target.version on containers: the stand-in built on the Debian root the local
    runtime chroots into (Debian 13's 4.0) runs a quorum queue through a leader kill and a leader
    partition, losing nothing confirmed, and each node's own log names its release and Erlang."""
    logs = _release_on_containers(tmp_path, RABBITMQ_RELEASE_SCENARIO.format(
        version=DOCKER_RABBITMQ_RELEASE, slug="on-containers",
        settings="  broker_config: {cluster_partition_handling: pause_minority}\n"),
        f"aftershock/rabbitmq:{DOCKER_RABBITMQ_RELEASE}", "rabbitmq", f"{DOCKER_RABBITMQ_RELEASE}.")
    erlang = erlang_version(root_dir(RELEASES[DOCKER_RABBITMQ_RELEASE].suite or ""))
    started = re.compile(rf"Starting RabbitMQ {re.escape(DOCKER_RABBITMQ_RELEASE)}\.\d+ on Erlang {re.escape(erlang)}")
    assert len(logs) == 3 and all(started.search(log) for log in logs), logs[0][-2000:]


def test_acks1_known_loss_shows_on_containers_too(tmp_path: Path) -> None:
    """Loss is probabilistic: up to 3 seeded attempts, the count reported (as on the local runtime)."""
    attempts = []
    for seed in (7, 8, 9):
        code, results = run_scenario(ROOT / "scenarios" / "kafka-leader-kill-acks-1.yaml", tmp_path / f"s{seed}",
                                     extra=["--seed", str(seed), "--runtime", "docker"])
        attempts.append((seed, results["counts"]["lost"], results["verdict"]))
        # Only a run that finished may count as an attempt: an error is a failure, not "no loss seen".
        assert results["verdict"] in ("pass", "fail"), (seed, code, results["error"])
        assert labelled(results["run_id"]) == []
        if results["verdict"] == "pass":
            break
    print(f"acks=1 on docker, attempts (seed, lost, verdict): {attempts}")
    assert attempts[-1][2] == "pass" and attempts[-1][1] >= 1, attempts


def test_an_interrupted_run_leaves_no_container_network_or_volume(tmp_path: Path) -> None:
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run",
                             str(ROOT / "scenarios" / "kafka-leader-kill-acks-all.yaml"),
                             "--out", str(out), "--runtime", "docker"], cwd=ROOT, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 180
    while not (out / "ledger" / "sends-load.csv").exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the run never reached its load"
        time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    output, _ = proc.communicate(timeout=180)
    assert proc.returncode == 130, output[-2000:]
    run_id = json.loads((out / "results.json").read_text())["run_id"]
    assert labelled(run_id) == [] and survivors(run_id) == []
