"""The fault interface (Jepsen's nemesis: inject, then heal) and its registry."""

from __future__ import annotations

from typing import ClassVar, Protocol

from harness.runtimes.base import NodeProcess
from harness.scenario.selectors import Selector


class FaultContext(Protocol):
    """What a fault may touch: processes resolved from selectors, nothing else."""

    def resolve(self, selector: Selector) -> tuple[str, NodeProcess]: ...


class Fault(Protocol):
    action: ClassVar[str]
    heals: ClassVar[bool]          # False: the fault is over once injected (restart)

    def inject(self, victim: NodeProcess) -> None: ...
    def heal(self, victim: NodeProcess) -> None: ...


FAULTS: dict[str, type[Fault]] = {}


def register_fault(cls: type[Fault]) -> type[Fault]:
    FAULTS[cls.action] = cls
    return cls


