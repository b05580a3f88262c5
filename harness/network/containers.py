"""The run's own Docker network: a user-defined bridge on a /24 of 198.18.0.0/15 with fixed node
addresses, so a node keeps its address across kills and restarts and the orchestrator (on the
bridge's gateway address) reaches every node directly. Partitions are the same iptables rules as
with namespaces, entered in each container's namespace with nsenter; `disconnect` takes a node off
the network entirely."""

from __future__ import annotations

import logging
import shutil
from typing import Any

from harness.errors import ClusterError, EnvironmentProblem
from harness.network.filtering import IptablesPartitions
from harness.network.grudges import Grudge
from harness.network.namespaces import pick_subnet, run_tag
from harness.ownership import run_labels

log = logging.getLogger("aftershock")
FIRST_PORT = 20000
PROXY_NODE = 0


class ContainerNetwork(IptablesPartitions):
    def __init__(self, client: Any, run_id: str, nodes: list[int]) -> None:
        self.client = client
        self.run_id = run_id
        self.tag = run_tag(run_id)
        self.name = f"aftershock-{self.tag}"
        self.nodes = nodes
        self.subnet = pick_subnet(self.tag)
        hosts = list(self.subnet.hosts())
        self.client_address = str(hosts[0])           # the bridge's gateway: the host side
        # node i at .10+i; PROXY_NODE (0) is the run's Toxiproxy container, a client-side address
        self._addresses = {i: str(hosts[9 + i]) for i in [PROXY_NODE, *nodes]}
        self._active: dict[int, Grudge] = {}
        self._members: dict[int, Any] = {}            # node -> DockerProcess
        self._network: Any = None
        self._port = FIRST_PORT

    def address(self, i: int) -> str:
        return self._addresses[i]

    def register(self, node: int, process: Any) -> None:
        self._members[node] = process

    def member(self, node: int) -> Any:
        return self._members[node]

    def exec_prefix(self, i: int) -> list[str]:
        """Enter node i's network namespace (its container's, while it runs)."""
        proc = self._members.get(i)
        pid = proc.pid if proc is not None else None
        if not pid:
            raise ClusterError(f"node {i} has no running container: cannot enter its network namespace")
        return ["nsenter", "--target", str(pid), "--net"]

    def next_port(self) -> int:
        self._port += 1
        return self._port

    def __enter__(self) -> ContainerNetwork:
        if shutil.which("nsenter") is None:
            raise EnvironmentProblem("nsenter not found (package util-linux): needed to filter container traffic")
        from docker.types import IPAMConfig, IPAMPool

        ipam = IPAMConfig(pool_configs=[IPAMPool(subnet=str(self.subnet), gateway=self.client_address)])
        self._network = self.client.networks.create(
            self.name, driver="bridge", ipam=ipam, labels=run_labels(self.run_id),
            options={"com.docker.network.bridge.name": f"as{self.tag}dk"})
        log.info("docker network %s on %s", self.name, self.subnet)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._network is not None:
            try:
                self._network.remove()
            except Exception as exc2:  # noqa: BLE001 - containers still attached: cleanup ends them
                log.warning("could not remove docker network %s: %s", self.name, exc2)
            self._network = None

    def client_addresses(self) -> list[str]:
        """Where client traffic comes from: the host, and the Toxiproxy container when there is one."""
        return [self.client_address] + ([self.address(PROXY_NODE)] if PROXY_NODE in self._members else [])

    def refresh(self, i: int) -> None:
        """A restarted container has a new namespace: give it the rules in force."""
        from harness.network import grudges

        if i not in self.nodes:
            return  # the proxy container is never filtered
        self._restore(i, grudges.merge(self._active.values()).get(i, frozenset()))

    def _restore(self, i: int, dropped: frozenset[int]) -> None:
        proc = self._members.get(i)
        if proc is None or not proc.alive:
            return  # a stopped node has no namespace to filter; rules are set again when faults change
        super()._restore(i, dropped)

    # -- whole-node disconnection ------------------------------------------------------------
    def disconnect(self, i: int) -> None:
        """Node i off the run's network: no route to anyone, clients included."""
        log.info("docker network disconnect %s node(%d)", self.name, i)
        self._network.disconnect(self._members[i].container, force=True)

    def connect(self, i: int) -> None:
        """Node i back on the run's network at its own address (a stopped container gets it on start)."""
        log.info("docker network connect %s node(%d) at %s", self.name, i, self.address(i))
        self._network.connect(self._members[i].container, ipv4_address=self.address(i))
