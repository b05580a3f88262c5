"""A fault family: the scenario entry users write (`FaultEntry`, told apart by `action`) and the
fault that acts it out (Jepsen's nemesis: inject, then heal), both registered by the family's own
module; one in another installed package registers through the `aftershock.faults` entry point."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Protocol, get_args

from pydantic import BaseModel, ConfigDict, Field

from harness.runtimes.base import NodeProcess
from harness.scenario.durations import Duration
from harness.scenario.selectors import Selector

Silenced = Literal["crash", "hang", "cut"]
"""How a struck member falls silent, as its peers can tell: `crash` (the process is gone: the kernel
closes its sockets, peers see at once), `hang` (frozen with its sockets open: only a timeout tells)
and `cut` (its packets dropped: the same)."""


@dataclass(frozen=True)
class Silence:
    """A member a fault silences (`who`: its selector; None: nodes chosen when it fires), and how."""

    who: Selector | None
    how: Silenced


class FaultEntry(BaseModel):
    """One entry of `faults:`; a family's subclass gives `action` as a Literal of its actions."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)
    needs_proxies: ClassVar[bool] = False   # acts on Toxiproxy proxies: the run puts them on every client path

    at: Duration
    heal_after: Duration | None = None
    effect_required: bool = Field(
        True, description="false: the fault need not move leadership or stall anything (a run that"
                          " shows no effect of it is not inconclusive, and validation does not warn)")

    def what(self) -> str:
        """The fault's object as the user wrote it (a target, a link, a partition mode)."""
        return ""

    def selectors(self) -> list[tuple[str, Selector]]:
        """(key, selector) of every cluster member the entry names, for validation to check they exist."""
        return []

    def check(self, scenario: Any, where: tuple[str | int, ...]) -> None:
        """Rules that need the rest of the scenario (raise LocatedValueError, relative to `where`)."""

    def silences(self) -> list[Silence]:
        """The members the fault silences, so validation can warn when it heals before the broker's
        failure detector could notice (a clean stop says goodbye: it silences nothing)."""
        return []


class FaultEnv(Protocol):
    """What a fault may act on. Faults never reach past it into the orchestrator."""

    rng: random.Random
    proxies: Any      # harness.services.proxies.ProxyNet | None: link faults
    network: Any      # harness.network.namespaces.NamespaceNetwork | None: partitions

    @property
    def node_numbers(self) -> list[int]: ...   # read-only: the run's env derives it from the cluster
    greeting: bytes   # what the broker answers at once (Broker.greeting); empty: link faults not measured

    def process(self, selector: Selector) -> tuple[str, NodeProcess]: ...
    def node_of(self, selector: Selector) -> int: ...


@dataclass(frozen=True)
class Verification:
    """What a fault measured of its own doing, right after it struck or healed: did it do that?"""

    ok: bool
    detail: str


class Fault(Protocol):
    heals: ClassVar[bool]          # False: the fault is over once injected (restart)

    def __init__(self, spec: Any) -> None: ...
    def inject(self, env: FaultEnv) -> list[str]: ...   # what it resolved to (nodes, proxies, rules)
    def heal(self, env: FaultEnv) -> None: ...
    def verify(self, env: FaultEnv, healed: bool) -> Verification | None:
        """Measure that the fault is in force (healed: that it is undone); None: nothing of its own
        to measure (a process fault's effect is the cluster's to show: harness.check.effects)."""
        ...


FAULTS: dict[str, type[Fault]] = {}
ENTRIES: dict[str, type[FaultEntry]] = {}   # action -> the entry model that holds it


def register_entry(cls: type[FaultEntry]) -> type[FaultEntry]:
    """A family's entry model, registered under every action its `action` Literal lists."""
    for action in get_args(cls.model_fields["action"].annotation):
        if action in ENTRIES:
            raise ValueError(f"two fault entries claim action {action!r}")
        ENTRIES[action] = cls
    return cls


def register_fault(*actions: str) -> Callable[[type[Fault]], type[Fault]]:
    def add(cls: type[Fault]) -> type[Fault]:
        for action in actions:
            FAULTS[action] = cls
        return cls

    return add
