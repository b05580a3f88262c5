"""Broker nodes as containers, through the Docker SDK: one container per node on the run's own
Docker network (ContainerNetwork), every container labelled with the run id.

Each node runs from its broker's own image (apache/kafka, rabbitmq, toxiproxy, or the local
stand-ins: harness.runtimes.images), configured through the image's contract, which the target
describes in the spec's ImageContract (environment, mounted files, host names). Faults act on the
container (SIGKILL, SIGTERM, the cgroup freezer) and partitions are iptables rules entered in the
container's network namespace, as on the local runtime.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from harness.errors import ClusterError, EnvironmentProblem
from harness.network.containers import PROXY_NODE
from harness.ownership import HOST_LABEL, LABEL, OWNER_LABEL, owner_alive, run_labels, this_host
from harness.runtimes.base import ImageContract, ProcessSpec
from harness.runtimes.images import image_for, image_set, require_image
from harness.runtimes.local import LocalRuntime

log = logging.getLogger("aftershock")

PAUSE_ATTEMPTS = 5


def engine() -> Any:
    """A client of the engine DOCKER_HOST names (or the default socket); exit 2 when none answers.
    The harness never starts an engine itself."""
    try:
        import docker
        from docker.errors import DockerException
    except ImportError as exc:  # pragma: no cover - a dependency of the package
        raise EnvironmentProblem(f"the docker package is missing ({exc}): run make install") from None
    where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        client = docker.from_env(timeout=60, version="auto")
        client.ping()
    except DockerException as exc:
        raise EnvironmentProblem(
            f"no Docker engine reachable at {where} ({exc}): start one (Debian: apt-get install docker.io,"
            " then dockerd) or point DOCKER_HOST at it; `runtime: local` needs none") from None
    return client


class DockerProcess:
    """One node's container; created on first start, started again after a kill (same address)."""

    def __init__(self, spec: ProcessSpec, runtime: DockerRuntime) -> None:
        self.spec = spec
        self.name = spec.name
        self.runtime = runtime
        self.container: Any = None
        self._paused = False
        self._stop_requested = False
        self._log_thread: threading.Thread | None = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running")
        if self.container is None:
            self.container = self.runtime.create(self.spec)
        log.info("start %s (container %s, image %s)", self.name, self.container.name,
                 self.container.attrs.get("Config", {}).get("Image", "?"))
        since = int(time.time())
        self.container.start()
        self._paused = False
        self._stop_requested = False
        self._follow_logs(since)
        if self.spec.node is not None:
            self.runtime.network.refresh(self.spec.node)

    def _follow_logs(self, since: int) -> None:
        """Copy the container's output into the node's log file, as a local process writes it."""
        path = self.spec.log_path
        path.parent.mkdir(parents=True, exist_ok=True)
        container = self.container

        def copy() -> None:
            try:
                with open(path, "ab") as out:
                    out.write(f"--- aftershock: start {time.strftime('%H:%M:%S')} (container) ---\n".encode())
                    for chunk in container.logs(stream=True, follow=True, since=since):
                        out.write(chunk)
                        out.flush()
            except Exception as exc:  # noqa: BLE001 - the container went away: nothing more to copy
                log.info("log copy of %s ended: %s", self.name, exc)

        self._log_thread = threading.Thread(target=copy, name=f"logs-{self.name}", daemon=True)
        self._log_thread.start()

    def _state(self) -> dict[str, Any]:
        if self.container is None:
            return {}
        try:
            self.container.reload()
        except Exception:  # noqa: BLE001 - removed
            return {}
        return self.container.attrs.get("State", {})

    @property
    def alive(self) -> bool:
        return bool(self._state().get("Running"))

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def stopped_on_purpose(self) -> bool:
        """Killed or asked to stop since its last start: its exit is nobody's surprise."""
        return self._stop_requested

    @property
    def returncode(self) -> int | None:
        state = self._state()
        return None if not state or state.get("Running") else state.get("ExitCode")

    @property
    def pid(self) -> int | None:
        pid = self._state().get("Pid")
        return int(pid) if pid else None

    def kill(self) -> None:
        self._stop_requested = True
        if self.alive:
            log.info("signal SIGKILL %s", self.name)
            self.container.kill(signal="SIGKILL")
            self.container.wait(timeout=30)
        self._paused = False

    def pause(self) -> None:
        """The cgroup freezer. Freezing a busy JVM can time out inside runc ("unable to freeze"):
        asked again a few times before it counts as a failed fault."""
        from docker.errors import APIError

        log.info("pause (freezer) %s", self.name)
        for attempt in range(1, PAUSE_ATTEMPTS + 1):
            try:
                self.container.pause()
                break
            except APIError as exc:
                if attempt == PAUSE_ATTEMPTS or "freeze" not in str(exc):
                    raise
                log.warning("pause %s failed (%s); trying again", self.name, exc)
                time.sleep(0.5)
        self._paused = True

    def resume(self) -> None:
        if self._paused:
            log.info("unpause %s", self.name)
            self.container.unpause()
            self._paused = False

    def request_stop(self) -> None:
        self._stop_requested = True
        self.resume()
        if self.alive:
            log.info("signal SIGTERM %s", self.name)
            self.container.kill(signal="SIGTERM")

    def terminate(self, timeout: float = 20.0) -> None:
        self._stop_requested = True
        if not self.alive:
            return
        self.resume()
        log.info("stop %s (SIGTERM, SIGKILL after %.0fs)", self.name, timeout)
        self.container.stop(timeout=int(timeout))
        self.container.wait(timeout=timeout + 30)

    def wait(self, timeout: float) -> bool:
        try:
            self.container.wait(timeout=timeout)
            return True
        except Exception:  # noqa: BLE001 - still running at the timeout
            return False


class DockerRuntime:
    """Containers on the run's ContainerNetwork; `address(i)` is node i's fixed address there."""

    name = "docker"
    node_form = "image"   # brokers describe nodes by their image's contract (ProcessSpec.image)

    def __init__(self, run_id: str, network: Any) -> None:
        if network is None:
            raise ClusterError("the docker runtime needs its container network")
        self.run_id = run_id
        self.network = network           # harness.network.containers.ContainerNetwork
        self.client = network.client
        self.isolated = True
        self.images = image_set()                 # role -> image (AFTERSHOCK_IMAGES)
        self._checked: set[str] = set()
        self.proxy_node = PROXY_NODE              # Toxiproxy runs as a container at this slot's address
        self.client_host = network.client_address  # the host, as containers on the run network reach it
        self.processes: list[DockerProcess] = []
        self._clients = LocalRuntime(run_id)

    def clients(self) -> LocalRuntime:
        return self._clients

    def process(self, spec: ProcessSpec) -> DockerProcess:
        if spec.node is None:
            raise ClusterError(f"{spec.name}: only broker nodes run in containers; clients stay local")
        if spec.image is None or spec.image.role not in self.images:
            raise ClusterError(f"{spec.name}: the docker runtime runs nodes from their broker's image"
                               f" ({', '.join(self.images)}); this node names none of them")
        image = image_for(spec.image.role, spec.image.release)
        if image not in self._checked:   # before any container starts: a missing image fails the run at once
            require_image(self.client, image)
            log.info("%s nodes run from image %s", spec.image.role, image)
            self._checked.add(image)
        proc = DockerProcess(spec, self)
        self.processes.append(proc)
        self.network.register(spec.node, proc)
        return proc

    def create(self, spec: ProcessSpec) -> Any:
        api = self.client.api
        contract: ImageContract = spec.image  # type: ignore[assignment]  # process() checked it
        binds = [f"{host.resolve()}:{path}:rw" for path, host in contract.mounts.items()]
        created = api.create_container(
            image_for(contract.role, contract.release), command=contract.command, environment=contract.env,
            name=f"as-{self.network.tag}-{spec.name}", hostname=contract.hostname or spec.name,
            labels=run_labels(self.run_id),
            host_config=api.create_host_config(binds=binds, init=False, cap_add=["NET_ADMIN"],
                                               extra_hosts=contract.hosts or None),
            networking_config=api.create_networking_config({self.network.name: api.create_endpoint_config(
                ipv4_address=self.network.address(spec.node))}),
        )
        return self.client.containers.get(created["Id"])

    def exec_prefix(self, node: int, env: dict[str, str] | None = None) -> list[str]:
        """`docker exec` into node i's container: what the command starts (rabbitmqctl starts an
        epmd if it finds none) lives and dies with the container, never on the host."""
        proc = self.network.member(node)
        flags = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        return ["docker", "exec", *flags, proc.container.name if proc.container else f"missing-node-{node}"]

    def address(self, node: int) -> str:
        return self.network.address(node)

    def image(self, node: int) -> str:
        """The image node i runs from."""
        contract = self.network.member(node).spec.image
        assert contract is not None, "process() runs only nodes with an image contract"
        return image_for(contract.role, contract.release)

    def free_port(self) -> int:
        """Every container has its own address: ports never collide across nodes or runs."""
        return self.network.next_port()

    def __enter__(self) -> DockerRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove_all()

    def remove_all(self) -> None:
        for proc in self.processes:
            if proc.container is not None:
                try:
                    proc.container.remove(force=True, v=True)
                except Exception as exc:  # noqa: BLE001 - already gone
                    log.info("remove %s: %s", proc.name, exc)


def engine_is_local(docker_host: str | None) -> bool:
    """An engine on this machine: the default socket or a unix socket. A TCP or SSH engine may be
    shared by other machines, whose runs' owners this process table cannot see."""
    return not docker_host or docker_host.startswith("unix://")


def leftover(labels: dict[str, str], host: str, table: dict[int, float], me: str, running: set[str],
             all_runs: bool = False, keep: str | None = None) -> bool:
    """A labelled object is this host's leftover when its orchestrator is gone (any of this host's but
    `keep` with all_runs); another host's, or one without owner labels, is never touched."""
    run_id = labels.get(LABEL, "")
    if labels.get(HOST_LABEL) != host or OWNER_LABEL not in labels or run_id == keep:
        return False
    return all_runs or not owner_alive(labels[OWNER_LABEL], table, me, run_id, running)


def remove_leftovers(table: dict[int, float], me: str, running: set[str], all_runs: bool = False,
                     keep: str | None = None) -> list[str]:
    """Containers, networks and volumes of this host's runs whose orchestrator is gone, on a local
    engine only; nothing else. Silent when no engine answers: then there is nothing of ours in it."""
    if not engine_is_local(os.environ.get("DOCKER_HOST")):
        log.info("docker leftovers not looked for: DOCKER_HOST %s is not a local engine",
                 os.environ.get("DOCKER_HOST"))
        return []
    try:
        import docker
        from docker.errors import DockerException

        client = docker.from_env(timeout=10, version="auto")
        client.ping()
    except Exception:  # noqa: BLE001 - no engine, no leftovers
        return []
    host = this_host()

    def gone(labels: dict[str, str] | None) -> bool:
        return leftover(labels or {}, host, table, me, running, all_runs, keep)

    removed = []
    try:
        for container in client.containers.list(all=True, filters={"label": LABEL}):
            run_id = container.labels.get(LABEL, "")
            if gone(container.labels):
                container.remove(force=True, v=True)
                removed.append(f"container {container.name} ({run_id})")
        for network in client.networks.list(filters={"label": LABEL}):
            if gone(network.attrs.get("Labels")):
                network.remove()
                removed.append(f"docker network {network.name}")
        for volume in client.volumes.list(filters={"label": LABEL}):
            if gone(volume.attrs.get("Labels")):
                volume.remove(force=True)
                removed.append(f"volume {volume.name}")
    except DockerException as exc:
        log.warning("docker cleanup incomplete: %s", exc)
    return removed
