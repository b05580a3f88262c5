"""The fault interface (Jepsen's nemesis: inject, then heal) and its registry keyed by action."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any, ClassVar, Protocol

from harness.runtimes.base import NodeProcess
from harness.scenario.selectors import Selector


class FaultEnv(Protocol):
    """What a fault may act on. Faults never reach past it into the orchestrator."""

    rng: random.Random
    node_numbers: list[int]
    proxies: Any      # harness.services.proxies.ProxyNet | None: link faults
    network: Any      # harness.network.namespaces.NamespaceNetwork | None: partitions

    def process(self, selector: Selector) -> tuple[str, NodeProcess]: ...
    def node_of(self, selector: Selector) -> int: ...


class Fault(Protocol):
    heals: ClassVar[bool]          # False: the fault is over once injected (restart)

    def __init__(self, spec: Any) -> None: ...
    def inject(self, env: FaultEnv) -> list[str]: ...   # what it resolved to (nodes, proxies, rules)
    def heal(self, env: FaultEnv) -> None: ...


FAULTS: dict[str, type[Fault]] = {}


def register_fault(*actions: str) -> Callable[[type[Fault]], type[Fault]]:
    def add(cls: type[Fault]) -> type[Fault]:
        for action in actions:
            FAULTS[action] = cls
        return cls

    return add
