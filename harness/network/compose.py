"""A cluster someone else brought up with Docker Compose (`docker-compose.yml`): the harness finds
its containers by their compose labels (service `<kind>-<i>` of the project the scenario names, and
of no other, is node i) and owns nothing of it.

Partitions are the same iptables rules as on the Docker runtime, entered in each container's
network namespace; they are emptied again at the end, so the cluster is left as it was found.
Addresses are read from the engine each time: a compose network gives a restarted container
whatever address is free.
"""

from __future__ import annotations

import logging
import shutil
from typing import Any

from harness.errors import ClusterError, EnvironmentProblem
from harness.network.filtering import IptablesPartitions
from harness.network.grudges import Grudge

log = logging.getLogger("aftershock")
PROJECT = "com.docker.compose.project"
SERVICE = "com.docker.compose.service"


def find_services(client: Any, kind: str, nodes: list[int], project: str | None) -> tuple[str, dict[int, Any]]:
    """(project, {node: container}) of the named compose project's services kind-1..kind-N. Only that
    project is ever bound: another project's containers are never chosen, however alone they run."""
    up = f"`docker compose -p {project or 'NAME'} --profile {kind} up -d` in the repository (docker-compose.yml)"
    if not project:
        raise EnvironmentProblem(f"runtime compose acts on one named compose project: give compose_project: NAME"
                                 f" in the scenario or --compose-project NAME (bring it up with {up})")
    members: dict[int, Any] = {}
    others: set[str] = set()
    for container in client.containers.list(all=True, filters={"label": PROJECT}):
        service = container.labels.get(SERVICE, "")
        prefix, _, index = service.rpartition("-")
        if prefix != kind or not index.isdigit():
            continue
        if container.labels.get(PROJECT) == project:
            members[int(index)] = container
        else:
            others.add(container.labels.get(PROJECT, ""))
    if not members:
        raise EnvironmentProblem(f"compose project {project!r} runs no {kind}-<n> service (projects with {kind}"
                                 f" services: {', '.join(sorted(others)) or 'none'}): bring it up with {up}, or"
                                 " name the right project")
    missing = [f"{kind}-{i}" for i in nodes if i not in members]
    if missing:
        raise EnvironmentProblem(f"compose project {project!r} has no service {', '.join(missing)}: the scenario"
                                 f" has {len(nodes)} nodes; give it target.nodes: {len(members)} or add services")
    return project, {i: members[i] for i in nodes}


class ComposeNetwork(IptablesPartitions):
    """The compose project's network as the harness sees it; creates nothing."""

    def __init__(self, client: Any, run_id: str, kind: str, nodes: list[int], project: str | None = None) -> None:
        self.client = client
        self.run_id = run_id
        self.kind = kind
        self.nodes = nodes
        self.project, self.containers = find_services(client, kind, nodes, project)
        self.name = self._network_name()
        self.client_address = self._settings(nodes[0]).get("Gateway") or ""
        self._active: dict[int, Grudge] = {}
        self._members: dict[int, Any] = {}

    def _network_name(self) -> str:
        first = self.containers[self.nodes[0]]
        networks = list(first.attrs.get("NetworkSettings", {}).get("Networks", {}))
        if not networks:
            raise EnvironmentProblem(f"compose service {self.kind}-{self.nodes[0]} is on no network")
        preferred = f"{self.project}_default"
        return preferred if preferred in networks else networks[0]

    def _settings(self, i: int) -> dict[str, Any]:
        container = self.containers[i]
        container.reload()
        return container.attrs.get("NetworkSettings", {}).get("Networks", {}).get(self.name, {})

    def address(self, i: int) -> str:
        address = self._settings(i).get("IPAddress")
        if not address:
            raise ClusterError(f"{self.kind}-{i} has no address on {self.name} (is it running?)")
        return str(address)

    def register(self, node: int, process: Any) -> None:
        self._members[node] = process

    def member(self, node: int) -> Any:
        return self._members[node]

    def exec_prefix(self, i: int) -> list[str]:
        pid = self._members[i].pid if i in self._members else None
        if not pid:
            raise ClusterError(f"{self.kind}-{i} is not running: cannot enter its network namespace")
        return ["nsenter", "--target", str(pid), "--net"]

    def __enter__(self) -> ComposeNetwork:
        if shutil.which("nsenter") is None:
            raise EnvironmentProblem("nsenter not found (package util-linux): needed to filter container traffic")
        log.info("compose project %s: %s on network %s", self.project,
                 ", ".join(c.name for c in self.containers.values()), self.name)
        return self

    def __exit__(self, *exc: object) -> None:
        """Leave no rule behind in containers the harness does not own."""
        if self._active:
            self._active.clear()
            self._apply()

    def refresh(self, i: int) -> None:
        """A restarted container has a new namespace, and maybe a new address: every node's rules
        are written again, from the addresses in force now."""
        if self._active:
            self._apply()

    def _restore(self, i: int, dropped: frozenset[int]) -> None:
        proc = self._members.get(i)
        if proc is None or not proc.alive:
            return
        super()._restore(i, dropped)
