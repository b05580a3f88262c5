"""Runtimes say how a broker node runs: a local process, or a container on a Docker engine."""

from typing import Any

from harness.runtimes.base import NodeProcess, ProcessSpec, Runtime
from harness.runtimes.local import LocalRuntime


def make_runtime(kind: str, run_id: str, network: Any, run_dir: Any) -> Runtime:
    """The runtime a scenario names; Docker is imported only when used."""
    if kind == "docker":
        from harness.runtimes.docker import DockerRuntime

        return DockerRuntime(run_id, network, mounts=[run_dir])
    return LocalRuntime(run_id, network)


__all__ = ["NodeProcess", "ProcessSpec", "Runtime", "LocalRuntime", "make_runtime"]
