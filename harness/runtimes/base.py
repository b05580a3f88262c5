"""The runtime interface: start, signal and stop one long-running process, whatever runs it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class ImageContract:
    """How a node runs from its broker's own image (the Docker runtime): what the image's entrypoint
    reads (environment, files mounted in), the names it must resolve, and which image it is."""

    role: str                                                  # kafka, rabbitmq, toxiproxy: picks the image
    env: dict[str, str] = field(default_factory=dict)
    mounts: dict[str, Path] = field(default_factory=dict)      # container path -> host path
    hosts: dict[str, str] = field(default_factory=dict)        # extra /etc/hosts entries: name -> address
    hostname: str | None = None                                # None: the spec's name
    command: list[str] | None = None                           # arguments to the entrypoint; None: the image's
    release: str = ""                                          # the broker release it must run; "": the image's


@dataclass(frozen=True)
class ProcessSpec:
    """Everything needed to (re)start one node or client process."""

    name: str
    argv: list[str]
    log_path: Path
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    node: int | None = None   # broker node number: where isolation applies, it runs in that node's namespace
    image: ImageContract | None = None   # the image form's contract (node_form "image"); argv unused then


class NodeProcess(Protocol):
    """A process the harness owns. Faults act only through these methods."""

    name: str
    spec: ProcessSpec

    def start(self) -> None: ...
    def kill(self) -> None: ...                      # SIGKILL, no cleanup by the process
    def request_stop(self) -> None: ...               # SIGTERM, do not wait
    def terminate(self, timeout: float) -> None: ...  # graceful stop, killed after timeout
    def pause(self) -> None: ...
    def resume(self) -> None: ...
    @property
    def alive(self) -> bool: ...
    @property
    def paused(self) -> bool: ...
    @property
    def pid(self) -> int | None: ...
    @property
    def stopped_on_purpose(self) -> bool: ...       # killed or stopped since its last start
    @property
    def returncode(self) -> int | None: ...          # None while it runs (or when it cannot be told)


NODE_FORMS = {   # how a runtime runs a node; each phrase completes "runtime X ..."
    "process": "runs each node as a local process from its broker's command line",
    "image": "runs each node from its broker's image, described by the image's contract (ProcessSpec.image)",
    "published": "binds to a running cluster someone else brought up (a compose project), never configuring it",
}


class Runtime(Protocol):
    """Creates processes tagged with the run id; `address(i)` is where node i listens. A context
    manager: what it made (containers) goes when the run leaves it, after the cluster stopped."""

    # Read-only: each runtime fixes them (as class or instance attributes).
    @property
    def name(self) -> str: ...
    @property
    def run_id(self) -> str: ...
    @property
    def isolated(self) -> bool: ...       # nodes in their own network namespaces (addresses differ per node)
    @property
    def node_form(self) -> str: ...       # how it runs a node: one of NODE_FORMS, the key of the broker's cluster
    @property
    def client_host(self) -> str: ...     # the host's address as the nodes see it (where local services listen)
    @property
    def proxy_node(self) -> int | None: ...   # the node slot Toxiproxy runs in (a container), or None: a local process

    def process(self, spec: ProcessSpec) -> NodeProcess: ...
    def free_port(self) -> int: ...
    def address(self, node: int) -> str: ...
    def exec_prefix(self, node: int, env: dict[str, str] | None = None) -> list[str]: ...
    # prefix for a short command run beside node i; `env` is what the command needs (also passed to
    # subprocess by the caller; a runtime that runs the command elsewhere forwards it)
    def clients(self) -> Any:
        """The local runtime the harness's own clients and services run on (they are local processes
        whatever runs the brokers): harness.runtimes.local.LocalRuntime."""
        ...
    def __enter__(self) -> Runtime: ...
    def __exit__(self, *exc: object) -> None: ...


class RunsImages(Runtime, Protocol):
    """A runtime whose nodes run from images (node form "image" or "published")."""

    def image(self, node: int) -> str: ...


class Published(RunsImages, Protocol):
    """A runtime whose nodes someone else brought up (node form "published": compose): the harness binds to
    them and dials what they publish, never configures, starts or stops them."""

    def endpoint(self, node: int, container_port: int | None = None) -> tuple[str, int]: ...
    def hostname(self, node: int) -> str: ...
