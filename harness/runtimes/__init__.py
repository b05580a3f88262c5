"""Runtimes say how a node process runs (local process today, containers later)."""

from harness.runtimes.base import NodeProcess, ProcessSpec, Runtime
from harness.runtimes.local import LocalRuntime

RUNTIMES: dict[str, type[Runtime]] = {"local": LocalRuntime}

__all__ = ["NodeProcess", "ProcessSpec", "Runtime", "RUNTIMES", "LocalRuntime"]
