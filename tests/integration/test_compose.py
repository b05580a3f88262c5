"""Scenarios pointed at a cluster brought up by hand with the repository's docker-compose.yml
(`runtime: compose`), on a real engine: the official images' stand-ins built by `make images`,
the real docker-compose. The harness owns nothing of that cluster: a run must leave it as found."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from harness.brokers.kafka.dist import kafka_version
from tests.integration.conftest import ROOT, run_scenario, verdict_report

pytestmark = pytest.mark.usefixtures("docker_engine", "kafka_available")

LOCAL_IMAGES = {"AFTERSHOCK_KAFKA_IMAGE": "aftershock/kafka:local",
                "AFTERSHOCK_RABBITMQ_IMAGE": "aftershock/rabbitmq:local",
                "AFTERSHOCK_TOXIPROXY_IMAGE": "aftershock/toxiproxy:local"}


def compose(project: str, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(["docker-compose", "-p", project, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, **LOCAL_IMAGES})
    assert done.returncode == 0, f"docker-compose {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done


class ComposeProject:
    """A profile of docker-compose.yml brought up under a project of its own (what a user types),
    and always down again with its volumes."""

    def __init__(self, profile: str) -> None:
        if shutil.which("docker-compose") is None:
            pytest.fail("docker-compose not found: run make install-test (installs Debian's docker-compose)")
        self.profile = profile
        self.name = f"astest{uuid.uuid4().hex[:6]}"

    def __enter__(self) -> str:
        compose(self.name, "--profile", self.profile, "up", "-d")
        return self.name

    def __exit__(self, *exc: object) -> None:
        compose(self.name, "--profile", self.profile, "down", "-v", "--remove-orphans")


@pytest.fixture(scope="module")
def kafka_project(docker_engine: str) -> Iterator[str]:
    """One compose Kafka for the module's Kafka tests: each run starts from a fresh topic anyway."""
    with ComposeProject("kafka") as project:
        yield project


def services(project: str) -> dict[str, dict]:
    """{service: container state} of the project, as the engine reports them."""
    import docker

    client = docker.from_env(version="auto")
    found = {}
    for container in client.containers.list(all=True, filters={"label": f"com.docker.compose.project={project}"}):
        container.reload()
        state = container.attrs["State"]
        found[container.labels["com.docker.compose.service"]] = state | {"Pid_": state["Pid"]}
    return found


def input_rules(pid: int) -> str:
    return subprocess.run(["nsenter", "--target", str(pid), "--net", "iptables", "-S", "INPUT"],
                          capture_output=True, text=True, timeout=20).stdout


def reachable_from(container: str, address: str, port: int) -> bool:
    """A TCP connect from inside a compose container's network namespace."""
    import docker

    pid = docker.from_env(version="auto").containers.get(container).attrs["State"]["Pid"]
    probe = (f"import socket; s = socket.socket(); s.settimeout(2); "
             f"s.connect(({address!r}, {port})); print('ok')")
    done = subprocess.run(["nsenter", "--target", str(pid), "--net", sys.executable, "-c", probe],
                          capture_output=True, text=True, timeout=30)
    return done.stdout.strip() == "ok"


def test_rabbitmq_quorum_scenario_on_a_compose_cluster(tmp_path: Path) -> None:
    """The quorum-queue guarantees on the compose RabbitMQ cluster (clustered by its own config):
    leader and node kills lose nothing; the partition handling the scenario names is checked
    against what the nodes run with; the nodes run again afterwards."""
    with ComposeProject("rabbitmq") as project:
        scenario = tmp_path / "compose-rabbitmq.yaml"
        scenario.write_text("""
name: compose-rabbitmq
seed: 11
target:
  kind: rabbitmq
  queue: {name: orders, type: quorum}
  broker_config: {cluster_partition_handling: pause_minority}
runtime: compose
producer: {confirms: true, persistent: true, mandatory: true}
consumer: {group: orders-svc, instances: 2, ack: manual, prefetch: 50}
load: {users: 2, rate: 300, duration: 24s}
faults:
  - {at: 5s, action: kill, target: "leader(orders)", heal_after: 6s}
  - {at: 14s, action: kill, target: "node(2)", heal_after: 6s}
expect: {lost: 0, unexpected: 0, log_duplicates: 0}
""")
        code, results = run_scenario(scenario, tmp_path / "run", extra=["--compose-project", project])
        assert results["verdict"] == "pass", verdict_report(results, code, tmp_path / "run")
        assert results["counts"]["lost"] == 0 and results["counts"]["acknowledged"] > 0
        assert all(f["resolved"] and f.get("error") is None for f in results["faults"]), results["faults"]
        assert {name for f in results["faults"] for name in f["resolved"]} <= {"rabbitmq-1", "rabbitmq-2", "rabbitmq-3"}
        assert results["versions"]["image"] == "compose aftershock/rabbitmq:local"
        assert results["versions"]["rabbitmq"].startswith("3.10."), results["versions"]   # Debian 12's, as it says
        state = services(project)
        assert all(state[f"rabbitmq-{i}"]["Running"] for i in (1, 2, 3))

        wrong = tmp_path / "autoheal.yaml"
        wrong.write_text(scenario.read_text().replace("pause_minority", "autoheal")
                         .replace("duration: 24s", "duration: 6s").split("faults:")[0])
        code, results = run_scenario(wrong, tmp_path / "wrong", extra=["--compose-project", project])
        assert code == 2 and "cluster_partition_handling autoheal" in (results["error"] or ""), results["error"]

        # Dead-lettering and a length limit each set a policy on the cluster: gone once the run is over,
        # so the next run's queue does not run under them (its read-back would say so).
        for name, extra in (("dlq", "consumer: {ack: manual, dead_letter: {queue: orders.dlq}}\n"),
                            ("limits", "")):
            text = (scenario.read_text().split("faults:")[0].replace("duration: 24s", "duration: 4s")
                    .replace("consumer: {group: orders-svc, instances: 2, ack: manual, prefetch: 50}\n", extra))
            if name == "limits":
                text = text.replace("type: quorum}", "type: quorum, arguments: {x-max-length: 100000}}")
            (tmp_path / f"{name}.yaml").write_text(text + "expect: {lost: 0}\n")
            code, results = run_scenario(tmp_path / f"{name}.yaml", tmp_path / name,
                                         extra=["--compose-project", project])
            assert results["verdict"] == "pass", verdict_report(results, code, tmp_path / name)
            assert results["settings"]["queues"]["orders"]["policy"].endswith("-dead-lettering")
            left = compose(project, "exec", "-T", "rabbitmq-1", "rabbitmqctl", "list_policies", "--formatter",
                           "json").stdout
            # the image's cookie warning comes first; the listing is the JSON line
            lines = left.splitlines()
            start = next(i for i, line in enumerate(lines) if line.startswith("["))
            assert json.loads("\n".join(lines[start:])) == [], left


def test_kafka_scenario_on_a_compose_cluster_and_left_as_found(tmp_path: Path, kafka_project: str) -> None:
    """The default scenario's guarantees on a compose-managed Kafka: leader kills, a frozen
    controller and an isolated node lose nothing; every container runs again afterwards, unpaused,
    with no rule of ours left in it; a second run starts from a fresh topic."""
    project = kafka_project
    scenario = tmp_path / "compose-kafka.yaml"
    scenario.write_text("""
name: compose-kafka
seed: 5
target:
  kind: kafka
  broker_config: {min.insync.replicas: 2, unclean.leader.election.enable: false}
runtime: compose
network: {isolation: namespaces}
producer: {acks: all, enable_idempotence: true}
load: {users: 2, rate: 300, duration: 30s}
consumer: {group: orders-svc, instances: 2}
faults:
  - {at: 4s, action: kill, target: "leader(orders, 0)", heal_after: 6s}
  - {at: 12s, action: pause, target: controller, heal_after: 4s}
  - {at: 18s, action: partition, mode: isolate, target: "leader(orders, 0)", heal_after: 6s}
  - {at: 26s, action: kill, target: "node(3)"}
expect: {lost: 0, unexpected: 0, log_duplicates: 0}
""")
    # named in the scenario itself (the second run names it on the command line)
    scenario.write_text(scenario.read_text().replace("runtime: compose\n",
                                                     f"runtime: compose\ncompose_project: {project}\n"))
    code, results = run_scenario(scenario, tmp_path / "run")
    assert results["verdict"] == "pass", verdict_report(results, code, tmp_path / "run")
    assert all(f["resolved"] and f.get("error") is None for f in results["faults"]), results["faults"]
    assert results["versions"]["image"] == "compose aftershock/kafka:local"
    # compose configured the brokers: the scenario's settings are the run's topic's, as it reports them
    assert results["settings"] == {"topic": {"orders": {"min.insync.replicas": "2",
                                                        "unclean.leader.election.enable": "false"}}}
    assert results["versions"]["kafka"] == kafka_version(), results["versions"]   # as the brokers log it
    log = (tmp_path / "run" / "harness.log").read_text()
    assert "nsenter" in log and "iptables-restore" in log
    # node(3) was killed and never healed by the scenario: the run starts it again at the end.
    state = services(project)
    assert {s: (v["Running"], v["Paused"]) for s, v in state.items() if s.startswith("kafka")} == {
        f"kafka-{i}": (True, False) for i in (1, 2, 3)}
    for service, st in state.items():
        if service.startswith("kafka"):
            assert input_rules(st["Pid_"]).strip() == "-P INPUT ACCEPT", f"{service} kept rules"
    # The node logs were copied into the run, as on the other runtimes.
    assert "Kafka Server started" in (tmp_path / "run" / "nodes" / "kafka-3" / "node.log").read_text()

    # A second run with another consumer group reads from the earliest offset: only a topic made
    # afresh keeps the first run's messages out of its history (they would count as unexpected).
    again = tmp_path / "again.yaml"
    again.write_text("""
name: compose-kafka-again
target: {kind: kafka}
runtime: compose
producer: {acks: all}
load: {users: 1, rate: 100, duration: 5s}
consumer: {group: other-svc, instances: 1}
expect: {lost: 0, unexpected: 0}
""")
    code, second = run_scenario(again, tmp_path / "again", extra=["--compose-project", project])
    assert second["verdict"] == "pass", verdict_report(second, code, tmp_path / "again")
    assert 0 < second["counts"]["acknowledged"] <= 600 and second["counts"]["unexpected"] == 0, second["counts"]


def test_a_run_naming_another_compose_project_touches_nothing(tmp_path: Path, kafka_project: str) -> None:
    """The only compose project running Kafka is not the one named: the run stops with exit 2 before
    any container is signalled or any topic deleted, saying which projects do run Kafka."""
    before = {s: v["StartedAt"] for s, v in services(kafka_project).items()}
    scenario = tmp_path / "wrong-project.yaml"
    scenario.write_text("name: wrong-project\ntarget: {kind: kafka}\nruntime: compose\ncompose_project: nosuchproject\n"
                        "load: {users: 1, rate: 50, duration: 3s}\n"
                        "faults:\n  - {at: 1s, action: kill, target: \"leader(orders, 0)\"}\n")
    code, results = run_scenario(scenario, tmp_path / "run")
    assert code == 2, results["error"]
    assert "'nosuchproject' runs no kafka-<n> service" in results["error"] and kafka_project in results["error"]
    assert {s: (v["StartedAt"], v["Running"]) for s, v in services(kafka_project).items()} == {
        s: (started, True) for s, started in before.items()}
    log = (tmp_path / "run" / "harness.log").read_text()
    assert "delete" not in log.lower() and "signal" not in log.lower() and "kill" not in log.lower()


def test_partition_on_a_compose_cluster_is_seen_inside_it(kafka_project: str) -> None:
    """The same iptables partition as on the Docker runtime, in containers the harness did not
    make: the isolated node reaches no peer and no peer reaches it, the others still talk; heal
    (and the end of the run's network) takes every rule out again."""
    from harness.network import grudges
    from harness.network.compose import ComposeNetwork
    from harness.runtimes.base import ProcessSpec
    from harness.runtimes.compose import ComposeRuntime
    from harness.runtimes.docker import engine
    from harness.wait import wait_until

    project = kafka_project
    network = ComposeNetwork(engine(), "as-composetest", "kafka", [1, 2, 3], project)
    assert network.project == project
    with network, ComposeRuntime("as-composetest", network) as runtime:
        for i in (1, 2, 3):
            runtime.process(ProcessSpec(name=f"kafka-{i}", argv=[], log_path=Path(os.devnull), node=i))
        name = {i: c.name for i, c in network.containers.items()}
        addr = {i: network.address(i) for i in (1, 2, 3)}
        assert runtime.endpoint(1) == ("127.0.0.1", 19092)
        # Freshly up: wait for the brokers to listen before cutting anything.
        wait_until(lambda: all(reachable_from(name[i], addr[j], 9092) for i, j in ((1, 2), (2, 3), (3, 1))),
                   what="the compose brokers to listen", timeout=90, interval=1.0, give_up_on=())
        network.partition(1, grudges.isolate(1, [1, 2, 3]))
        assert not reachable_from(name[1], addr[2], 9092)
        assert not reachable_from(name[3], addr[1], 9092)
        assert reachable_from(name[2], addr[3], 9092)
        network.heal(1)
        assert reachable_from(name[1], addr[2], 9092) and reachable_from(name[3], addr[1], 9092)
        network.partition(2, grudges.isolate(2, [1, 2, 3]))
    # Left with a partition in force: leaving the network takes it out.
    for service, st in services(project).items():
        if service.startswith("kafka"):
            assert input_rules(st["Pid_"]).strip() == "-P INPUT ACCEPT", f"{service} kept rules"
