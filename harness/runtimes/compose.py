"""Nodes of a cluster brought up with Docker Compose: the same container faults as the Docker
runtime (SIGKILL, SIGTERM, the freezer, start again), on containers the harness did not create.

The harness owns none of it: it never creates or removes a container, and at the end it leaves
every node as it found it (unpaused, running). Clients dial the ports the services publish on the
host, as a user's own services would.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from harness.errors import ClusterError
from harness.runtimes.base import ProcessSpec
from harness.runtimes.docker import DockerProcess
from harness.runtimes.local import LocalRuntime

log = logging.getLogger("aftershock")


class ComposeProcess(DockerProcess):
    """One compose service's container; its output is copied into the run from the moment it is bound."""

    def __init__(self, spec: ProcessSpec, runtime: ComposeRuntime, container: Any) -> None:
        super().__init__(spec, runtime)  # type: ignore[arg-type]
        self.container = container
        if self.alive:
            self._follow_logs(int(time.time()))

    def restore(self) -> None:
        """Back to how the user left it: running and not frozen."""
        try:
            if self._state().get("Paused"):
                self.container.unpause()
            self._paused = False
            if not self.alive:
                log.info("start %s again: the run ends with it stopped", self.name)
                self.start()
        except Exception as exc:  # noqa: BLE001 - report it; the user's cluster is theirs to mend
            log.warning("could not restore %s (%s): `docker compose start` brings it back", self.name, exc)


class ComposeRuntime:
    """Binds node i to the project's service `<kind>-<i>`; `endpoint(i, port)` is where clients dial it."""

    name = "compose"
    node_form = "published"   # the broker neither configures nor starts nor stops the nodes
    isolated = True
    proxy_node: int | None = None

    def __init__(self, run_id: str, network: Any) -> None:
        if network is None:
            raise ClusterError("the compose runtime needs its compose network")
        self.run_id = run_id
        self.network = network          # harness.network.compose.ComposeNetwork
        self.client = network.client
        self.client_host = "127.0.0.1"
        self.processes: list[ComposeProcess] = []
        self._clients = LocalRuntime(run_id)

    def clients(self) -> LocalRuntime:
        return self._clients

    def process(self, spec: ProcessSpec) -> ComposeProcess:
        if spec.node is None:
            raise ClusterError(f"{spec.name}: only broker nodes are compose services; clients stay local")
        proc = ComposeProcess(spec, self, self.network.containers[spec.node])
        self.processes.append(proc)
        self.network.register(spec.node, proc)
        return proc

    def endpoint(self, node: int, container_port: int | None = None) -> tuple[str, int]:
        """The host port node `node` publishes for `container_port` (None: its only published port)."""
        container = self.network.containers[node]
        bindings = {int(key.split("/")[0]): value for key, value in
                    (container.attrs.get("HostConfig", {}).get("PortBindings") or {}).items() if value}
        service = f"{self.network.kind}-{node}"
        if container_port is None:
            if len(bindings) != 1:
                raise ClusterError(f"{service} publishes {len(bindings)} ports ({sorted(bindings) or 'none'}):"
                                   " publish exactly the client listener's port, as docker-compose.yml does")
            container_port = next(iter(bindings))
        if container_port not in bindings:
            raise ClusterError(f"{service} does not publish port {container_port}: add it under `ports:`")
        host_port = bindings[container_port][0].get("HostPort") or ""
        if not host_port.isdigit():
            raise ClusterError(f"{service} publishes {container_port} on no fixed host port: give one in `ports:`")
        return "127.0.0.1", int(host_port)

    def hostname(self, node: int) -> str:
        """The container's host name: what a RabbitMQ node in it calls itself (rabbit@<hostname>)."""
        return str(self.network.containers[node].attrs.get("Config", {}).get("Hostname", ""))

    def image(self, node: int) -> str:
        return str(self.network.containers[node].attrs.get("Config", {}).get("Image", "?"))

    def exec_prefix(self, node: int, env: dict[str, str] | None = None) -> list[str]:
        flags = [arg for key, value in (env or {}).items() for arg in ("-e", f"{key}={value}")]
        return ["docker", "exec", *flags, self.network.containers[node].name]

    def address(self, node: int) -> str:
        return self.network.address(node)

    def free_port(self) -> int:
        raise ClusterError("a compose-managed cluster listens where its compose file says: no ports to choose")

    def __enter__(self) -> ComposeRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.processes:
            proc.restore()
