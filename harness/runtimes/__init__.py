"""Runtimes say how a broker node runs: a local process, or a container on a Docker engine.
Each kind brings the network its nodes live on; registered by the name scenarios use."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from harness.runtimes.base import NODE_FORMS, NodeProcess, ProcessSpec, Runtime
from harness.runtimes.local import LocalRuntime


class RuntimeKind(Protocol):
    """What a runtime can do is declared here, and validation refuses a scenario asking for more."""

    node_form: str   # how its runtime runs a node (runtimes.base.NODE_FORMS): validation asks the broker for it
    no_proxies: str | None   # why no Toxiproxy proxy can sit between clients and nodes; None: one can
    acts_on_project: bool    # acts on one named docker-compose project (compose_project), nothing else
    disconnects: bool        # can take a node off its network altogether (partition mode disconnect)

    def network(self, run_id: str, kind: str, nodes: list[int], isolation: str,
                project: str | None = None) -> Any: ...   # a context manager or None; project: compose's
    def runtime(self, run_id: str, network: Any, run_dir: Path) -> Runtime: ...


class LocalKind:
    """Local processes; each node in its own network namespace when the scenario asks for isolation."""

    node_form = "process"
    no_proxies: str | None = None
    acts_on_project = False
    disconnects = False

    def network(self, run_id: str, kind: str, nodes: list[int], isolation: str, project: str | None = None) -> Any:
        from harness.network.namespaces import NamespaceNetwork

        return NamespaceNetwork(run_id, nodes) if isolation == "namespaces" else None

    def runtime(self, run_id: str, network: Any, run_dir: Path) -> Runtime:
        return LocalRuntime(run_id, network)


class DockerKind:
    """Containers; every node has its own namespace anyway, on the run's own Docker network."""

    node_form = "image"
    no_proxies: str | None = None
    acts_on_project = False
    disconnects = True

    def network(self, run_id: str, kind: str, nodes: list[int], isolation: str, project: str | None = None) -> Any:
        from harness.network.containers import ContainerNetwork
        from harness.runtimes.docker import engine

        return ContainerNetwork(engine(), run_id, nodes)

    def runtime(self, run_id: str, network: Any, run_dir: Path) -> Runtime:
        from harness.runtimes.docker import DockerRuntime

        return DockerRuntime(run_id, network)


class ComposeKind:
    """The containers of the named Docker Compose project, found by their service names."""

    node_form = "published"
    no_proxies: str | None = ("a compose-managed cluster advertises its own listeners, so no proxy can sit"
                              " in front of it")
    acts_on_project = True
    disconnects = False

    def network(self, run_id: str, kind: str, nodes: list[int], isolation: str, project: str | None = None) -> Any:
        from harness.network.compose import ComposeNetwork
        from harness.runtimes.docker import engine

        return ComposeNetwork(engine(), run_id, kind, nodes, project)

    def runtime(self, run_id: str, network: Any, run_dir: Path) -> Runtime:
        from harness.runtimes.compose import ComposeRuntime

        return ComposeRuntime(run_id, network)


RUNTIME_KINDS: dict[str, RuntimeKind] = {"local": LocalKind(), "docker": DockerKind(), "compose": ComposeKind()}

__all__ = ["NODE_FORMS", "NodeProcess", "ProcessSpec", "Runtime", "RUNTIME_KINDS", "LocalRuntime"]
