"""What every broker target offers the orchestrator, faults and load."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Protocol

from harness.runtimes.base import NodeProcess, ProcessSpec, Runtime
from harness.scenario.model import ConsumerSpec


class Target(Protocol):
    """A broker cluster: brought up and torn down as a context manager."""

    kind: str
    nodes: dict[int, NodeProcess]

    def __enter__(self) -> "Target": ...
    def __exit__(self, *exc: object) -> None: ...
    def leader_of(self, *args: str) -> int: ...
    def controller(self) -> int: ...
    def load_config(self) -> dict[str, Any]: ...
    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: ConsumerSpec) -> ProcessSpec: ...
    def versions(self) -> dict[str, str]: ...
    def assignable_partitions(self) -> int | None:
        """How many partitions the consumer group must have assigned among its instances before the
        load starts; None when the broker assigns nothing (queues)."""
        ...
    def backlog(self) -> int | None:
        """Messages the broker holds that its consumers have not acknowledged; None: cannot tell."""
        ...
    def positions(self) -> list[dict[str, Any]]:
        """Per partition of a log-based broker: topic, partition, committed, end (empty for queues)."""
        ...


TargetFactory = Callable[[Any, Runtime, Path], Target]
TARGETS: dict[str, TargetFactory] = {}


def register_target(kind: str) -> Callable[[TargetFactory], TargetFactory]:
    def add(factory: TargetFactory) -> TargetFactory:
        TARGETS[kind] = factory
        return factory

    return add
