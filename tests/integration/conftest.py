"""Integration tests run real brokers: they skip (with the reason shown) only when the machine
cannot run them, and check that nothing tagged by a run survives it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from junitparser import JUnitXml

from harness.cleanup import tagged_processes

ROOT = Path(__file__).resolve().parents[2]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def kafka_available() -> None:
    if shutil.which("java") is None:
        pytest.skip("java not found: the Kafka integration tests need a JDK 17+")
    from harness.brokers.kafka.dist import kafka_classpath
    from harness.errors import EnvironmentProblem

    try:
        kafka_classpath()
    except EnvironmentProblem as exc:
        pytest.skip(str(exc))




@pytest.fixture(scope="session")
def rabbitmq_available() -> None:
    from harness.brokers.rabbitmq.dist import rabbitmq_version
    from harness.errors import EnvironmentProblem

    try:
        rabbitmq_version()
    except EnvironmentProblem as exc:
        pytest.skip(str(exc))
    if os.geteuid() != 0:
        pytest.skip("RabbitMQ nodes are run from /usr/lib/rabbitmq/bin as root; not root here")


DOCKERD_SOCKET = "/run/aftershock-dockerd.sock"


# A release's run: a leader kill and a partition on acks=all, which must lose nothing; {consumer} and
# {consumer_kill} say who consumes (and whether one of them is killed too).
RELEASE_SCENARIO = """\
name: kafka-release-{slug}
seed: 3
target:
  kind: kafka
  version: "{version}"
  nodes: 3
  broker_config: {{min.insync.replicas: 2, unclean.leader.election.enable: false, replica.lag.time.max.ms: 6000}}
  topic: {{name: orders, partitions: 3, replication_factor: 3}}
network: {{isolation: namespaces}}
producer: {{acks: all, enable_idempotence: true}}
load: {{users: 2, rate: 300, duration: 20s}}
consumer: {consumer}
faults:
  - {{at: 3s, action: kill, target: "leader(orders, 0)", heal_after: 4s}}{consumer_kill}
  - {{at: 11s, action: partition, mode: isolate, target: "leader(orders, 1)", heal_after: 5s}}
expect: {{lost: 0, unexpected: 0}}
"""


# The release other than the default that the Docker tests run in containers: the oldest supported,
# the furthest from the default (reload4j logging, no eligible leader replicas).
DOCKER_KAFKA_RELEASE = "3.9.1"
# RabbitMQ's on containers: Debian 13's 4.0 (the root the local runtime chroots into, as the image's base).
DOCKER_RABBITMQ_RELEASE = "4.0"

# A RabbitMQ release's run: a quorum queue through a leader kill and a leader partition, on confirms
# and manual acks: nothing confirmed may be lost. {settings}: extra target lines.
RABBITMQ_RELEASE_SCENARIO = """\
name: rabbitmq-release-{slug}
seed: 5
target:
  kind: rabbitmq
  version: "{version}"
  nodes: 3
  queue: {{name: orders, type: quorum}}
{settings}network: {{isolation: namespaces}}
producer: {{confirms: true, persistent: true, mandatory: true}}
consumer: {{group: orders-svc, instances: 1, ack: manual, prefetch: 50}}
load: {{users: 2, rate: 200, duration: 24s}}
faults:
  - {{at: 3s, action: kill, target: "leader(orders)", heal_after: 5s}}
  - {{at: 13s, action: partition, mode: isolate, target: "leader(orders)", heal_after: 6s}}
expect: {{lost: 0, unexpected: 0}}
"""


@pytest.fixture(scope="session")
def docker_engine() -> Iterator[str]:
    """A Docker engine with the brokers' images: the one DOCKER_HOST names if it answers, else Debian's
    dockerd started here on a private socket (data under the cache, so images survive the session)
    and stopped afterwards. Skips, saying why, only where dockerd cannot run at all. The official
    images cannot be pulled on the test machines: nodes run from the local stand-ins `make images`
    builds (AFTERSHOCK_IMAGES=local), unless the environment chooses otherwise."""
    from harness.paths import cache_dir

    os.environ.setdefault("AFTERSHOCK_IMAGES", "local")

    started = None
    if not _engine_answers(os.environ.get("DOCKER_HOST")):
        if os.geteuid() != 0:
            pytest.skip("no Docker engine and not root: cannot start dockerd (the Docker tests need one)")
        if shutil.which("dockerd") is None:
            pytest.skip("dockerd not found: run make install-test (installs Debian's docker.io)")
        if not Path("/sys/fs/cgroup").exists():
            pytest.skip("no cgroup filesystem: dockerd cannot run on this machine")
        data = cache_dir() / "docker"
        log = open(cache_dir() / "dockerd.log", "ab")
        started = subprocess.Popen(
            ["dockerd", "--host", f"unix://{DOCKERD_SOCKET}", "--data-root", str(data),
             "--exec-root", "/run/aftershock-docker", "--pidfile", "/run/aftershock-dockerd.pid"],
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while not _engine_answers(f"unix://{DOCKERD_SOCKET}"):
            if started.poll() is not None or time.monotonic() > deadline:
                started.kill()
                pytest.fail(f"dockerd did not start: see {cache_dir() / 'dockerd.log'}")
            time.sleep(0.5)
        os.environ["DOCKER_HOST"] = f"unix://{DOCKERD_SOCKET}"
    try:
        # The stand-ins for the default releases and for DOCKER_*_RELEASE, whose jars and root come first.
        install(f"kafka={DOCKER_KAFKA_RELEASE}")
        install(f"rabbitmq={DOCKER_RABBITMQ_RELEASE}", timeout=1800)
        build = subprocess.run([str(ROOT / "scripts" / "build-images.sh")], capture_output=True, text=True,
                               timeout=1200, env={**os.environ, "KAFKA_RELEASES": DOCKER_KAFKA_RELEASE,
                                                  "RABBITMQ_RELEASES": DOCKER_RABBITMQ_RELEASE,
                                                  "PYTHON": sys.executable})
        assert build.returncode == 0, f"image build failed:\n{build.stdout[-3000:]}\n{build.stderr[-3000:]}"
        yield os.environ["DOCKER_HOST"] if "DOCKER_HOST" in os.environ else "default"
    finally:
        if started is not None:
            started.terminate()
            try:
                started.wait(timeout=60)
            except subprocess.TimeoutExpired:
                started.kill()
            os.environ.pop("DOCKER_HOST", None)


def _engine_answers(host: str | None) -> bool:
    try:
        import docker

        client = (docker.DockerClient(base_url=host, version="auto", timeout=5) if host
                  else docker.from_env(timeout=5, version="auto"))
        return bool(client.ping())
    except Exception:  # noqa: BLE001 - no engine there
        return False


def survivors(run_id: str) -> list[int]:
    """Processes still carrying this run's id (after a short grace for the kernel to reap them)."""
    deadline = time.monotonic() + 5
    while True:
        left = [pid for pid, rid in tagged_processes().items() if rid == run_id]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def network_leftovers(run_id: str) -> list[str]:
    """Namespaces, links (bridge, veths) and host iptables rules (every table, not only FORWARD)
    of this run still present, and the rules inside any namespace of it that is left."""
    tag = run_id.removeprefix("as-")[:8]
    names = _out(["ip", "netns", "list"])
    links = _out(["ip", "-o", "link", "show"])
    rules = _out(["iptables-save"]) if shutil.which("iptables-save") else _out(["iptables", "-S", "FORWARD"])
    found = [line for line in (names + links + rules).splitlines() if f"as-{tag}-" in line or f"as{tag}" in line]
    for ns in re.findall(rf"^(as-{tag}-n\d+)", names, re.M):
        found += [f"{ns}: {rule}" for rule in _out(["ip", "netns", "exec", ns, "iptables", "-S"]).splitlines()
                  if rule.startswith("-A ")]
    return found


def _out(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=20).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""


def run_leftovers(run_id: str, out: Path) -> list[str]:
    """Everything of one run still present after it ended: tagged processes (brokers, epmd,
    consumers, load, Toxiproxy), processes naming its run directory even if untagged, namespaces,
    links and iptables rules (host and namespaces, by its tag and its subnet), a Toxiproxy API
    still answering with proxies, and Docker containers, networks and volumes labelled with it."""
    found = [f"process {pid} {_cmdline(pid)}" for pid in survivors(run_id)]
    found += [f"untagged process {pid} {_cmdline(pid)}" for pid in _naming(out)
              if f"process {pid} " not in " ".join(found)]
    found += network_leftovers(run_id)
    for subnet in filter(None, (_logged(out, r"namespaces ready: .* on (\d+\.\d+\.\d+)\.\d+/"),
                                _logged(out, r"docker network \S+ on (\d+\.\d+\.\d+)\.\d+/"))):
        found += [f"host rule on the run's subnet: {rule}" for rule in _out(["iptables-save"]).splitlines()
                  if f"{subnet}." in rule]
    api = _logged(out, r"toxiproxy \S+ at (\S+:\d+)")
    if api:
        try:
            import requests

            proxies = requests.get(f"http://{api}/proxies", timeout=1).json()
            found.append(f"toxiproxy at {api} still answering, proxies {sorted(proxies)}")
        except Exception:  # noqa: BLE001 - nothing answers there: what we want
            pass
    return found + docker_leftovers(run_id)


def docker_leftovers(run_id: str) -> list[str]:
    """Containers, networks and volumes labelled with this run, on the engine DOCKER_HOST names
    (none when no engine answers: then it can hold nothing of ours)."""
    if not _engine_answers(os.environ.get("DOCKER_HOST")):
        return []
    import docker

    from harness.runtimes.docker import LABEL

    client = docker.from_env(version="auto", timeout=20)
    selector = {"label": f"{LABEL}={run_id}"}
    return ([f"container {c.name}" for c in client.containers.list(all=True, filters=selector)]
            + [f"docker network {n.name}" for n in client.networks.list(filters=selector)]
            + [f"docker volume {v.name}" for v in client.volumes.list(filters=selector)])


def _logged(out: Path, pattern: str) -> str | None:
    try:
        match = re.search(pattern, (out / "harness.log").read_text())
    except OSError:
        return None
    return match.group(1) if match else None


def _naming(out: Path) -> list[int]:
    import psutil

    where = str(out)
    pids = []
    for proc in psutil.process_iter(["pid", "cmdline", "cwd"]):
        cmd = " ".join(proc.info["cmdline"] or [])
        if (where in cmd or (proc.info["cwd"] or "").startswith(where)) and proc.pid != os.getpid():
            pids.append(proc.pid)
    return pids


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")[:120]
    except OSError:
        return "(gone)"


def run_cli(args: list[str], timeout: float, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "harness", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, "COLUMNS": "160", **(env or {})})


def install(what: str, timeout: float = 900) -> subprocess.CompletedProcess[str]:
    """`aftershock install WHAT` (kafka=4.1.1, rabbitmq=4.3), as a user would run it: it must succeed."""
    installed = run_cli(["install", what], timeout=timeout)
    assert installed.returncode == 0, installed.stdout[-2000:] + installed.stderr[-2000:]
    return installed


def run_scenario(scenario: Path, out: Path, timeout: float = 600, extra: list[str] = ()) -> tuple[int, dict]:  # type: ignore[assignment]  # () never mutated
    """Runs a scenario with the real CLI; returns (exit status, results.json), asserting no leftovers
    and that the JUnit XML CI would read agrees with the verdict."""
    junit = out.parent / f"{out.name}-junit.xml"
    proc = run_cli(["run", str(scenario), "--out", str(out), "--junit", str(junit), *extra], timeout)
    results_path = out / "results.json"
    assert results_path.exists(), (f"no results.json; exit {proc.returncode}\n"
                                   f"{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    results = json.loads(results_path.read_text())
    if proc.returncode in (0, 1, 2) and not (results["error"] or "").startswith("interrupted"):
        (case,) = next(iter(JUnitXml.fromfile(str(junit))))
        assert case.name == results["scenario"]
        assert case.is_passed == (results["verdict"] == "pass"), case.result
    assert survivors(results["run_id"]) == [], "processes of the run survived it"
    assert network_leftovers(results["run_id"]) == [], "network namespaces or links of the run survived it"
    return proc.returncode, results


def checked_by_replica_logs(scenario: Path, out_dir: Path) -> Path:
    """A copy of a Kafka scenario with target.replica_log_check on: the known-answer tests' verdicts
    get the broker's own second opinion (issue 17 point 8); the shipped files leave it off, since
    reading the logs needs the release's jars on the host, which a Docker-only user may lack."""
    from ruamel.yaml import YAML

    yaml = YAML(typ="rt")
    data = yaml.load(scenario.read_text())
    data["target"]["replica_log_check"] = True
    copy = out_dir / scenario.name
    out_dir.mkdir(parents=True, exist_ok=True)
    with copy.open("w") as file:
        yaml.dump(data, file)
    return copy


def assert_second_opinion_agrees(results: dict) -> None:
    second, metrics = results["second_opinion"], results["metrics"]
    assert second is not None and second["agree"], second
    assert (second["lost"], second["log_duplicates"]) == (metrics["lost"], metrics["log_duplicates"]), second


def assert_every_node_answered(out: Path, queue: str, nodes: int) -> None:
    """The broker's own account after the drain is whole: what it still holds is a count (not
    unknown), and the queue's members are all listed, its leader among those online (a member
    healed late may still be catching up, which is no failure of the listing). Beside namespaced nodes,
    rabbitmqctl once never heard the other nodes' rows: each listing came back partial, the count
    unknown and the replicas unasked (fixed in 511b540); a run then still passed."""
    state = json.loads((out / "broker-state.json").read_text())
    assert state["error"] is None and state["held"] == 0, state
    assert state["replicas_error"] is None, state
    replicas = state["replicas"][queue]
    assert len(replicas["members"]) == nodes and replicas["leader"] in replicas["online"], state


def evidence(out: Path) -> str:
    """What a failed verdict's assertion message should carry, since CI keeps no run directory:
    the harness's warnings (the drain's reason among them), where each partition's consumers stood
    when the drain ended, and each consumer's log: every (re)start and assignment, then its tail."""
    log = out / "harness.log"
    lines = [line for line in (log.read_text().splitlines() if log.exists() else [])
             if " WARNING " in line or " ERROR " in line or "drain" in line or " fault " in line]
    parts = ["\n".join(lines[-30:])]
    state = out / "broker-state.json"
    if state.exists():
        held = json.loads(state.read_text())
        parts.append(f"--- broker state: held {held.get('held')}, error {held.get('error')}, positions "
                     + json.dumps(held.get("positions")) + f"\n    groups {json.dumps(held.get('groups'))}"
                     + f" {held.get('groups_error') or ''}")
    for consumer in sorted((out / "consumers").glob("*.log")):
        text = consumer.read_text().splitlines()
        marks = [line for line in text[:-25] if line.startswith(("--- aftershock", "assigned", "consumer-"))]
        parts.append(f"--- {consumer.name}\n" + "\n".join([*marks, "...", *text[-25:]]))
    return "\n".join(parts)


def verdict_report(results: dict[str, Any], code: int, out: Path) -> str:
    """A failed run's whole story as one string: pytest abridges a non-string assertion message
    (a tuple's repr is cut to a few hundred characters), which once hid the evidence of a CI failure."""
    return (f"verdict {results.get('verdict')}, exit {code}\nerror: {results.get('error')}\n"
            f"expectations: {json.dumps(results.get('expectations'), default=str)}\n{evidence(out)}")


ARTIFACTS = ROOT / "reports" / "test-artifacts"
_CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                   "--disable-extensions", "--disable-sync", "--no-first-run", "--no-proxy-server",
                   "--host-resolver-rules=MAP * ~NOTFOUND", "--enable-logging=stderr", "--v=0"]


def browse(page: Path, screenshot_name: str) -> tuple[str, list[str]]:
    """Opens a page in headless Chromium with the network off: (its DOM after load, the console
    messages it logged). A screenshot is kept under reports/test-artifacts/ for people to look at."""
    chromium = shutil.which("chromium")
    assert chromium, "chromium not installed: run make install-test"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    url = page.resolve().as_uri()
    dom = subprocess.run([chromium, *_CHROMIUM_FLAGS, "--dump-dom", url], capture_output=True, text=True,
                         timeout=120)
    shot = subprocess.run([chromium, *_CHROMIUM_FLAGS, "--window-size=1280,4000",
                           f"--screenshot={ARTIFACTS / screenshot_name}", url],
                          capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0 and shot.returncode == 0, dom.stderr[-2000:] + shot.stderr[-2000:]
    console = [line for line in (dom.stderr + shot.stderr).splitlines() if ":CONSOLE" in line]
    return dom.stdout, console
