"""Network partitions: a grudge computed from the mode, applied as iptables rules in the
nodes' namespaces, removed on heal."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from harness.brokers import node_count
from harness.errors import ClusterError
from harness.faults.base import FaultEntry, FaultEnv, Silence, Verification, register_entry, register_fault
from harness.network import grudges
from harness.runtimes import RUNTIME_KINDS
from harness.scenario.located import LocatedValueError
from harness.scenario.numbers import Whole
from harness.scenario.selectors import Selector, SelectorField, parse_selector


@register_entry
class PartitionFault(FaultEntry):
    """iptables DROP rules between nodes (and clients) in their network namespaces; or, on Docker,
    a container taken off the run's network altogether (mode disconnect)."""

    action: Literal["partition"]
    mode: Literal["isolate", "halves", "majority", "minority", "majorities-ring", "bridge", "asymmetric",
                  "groups", "cut", "disconnect"] = "halves"
    target: SelectorField | None = Field(None, description="isolate, disconnect: the node cut off (default random)")
    groups: list[list[Whole]] | None = Field(None, description="groups: node numbers that still see each other")
    between: str | None = Field(None, description="cut/asymmetric: 'A|B', sides client or a node selector")

    @model_validator(mode="after")
    def _mode_arguments(self) -> PartitionFault:
        if self.mode == "groups" and not self.groups:
            raise LocatedValueError("mode groups needs groups: e.g. [[1, 2], [3]]", ("groups",))
        if self.mode != "groups" and self.groups:
            raise LocatedValueError("groups: is only for mode: groups", ("groups",))
        if self.mode == "cut" and not self.between:
            raise LocatedValueError("mode cut needs between: e.g. 'client|leader(orders, 0)'", ("between",))
        if self.between is not None:
            sides = [s.strip() for s in self.between.split("|")]
            if len(sides) != 2:
                raise LocatedValueError("between: is 'A|B', e.g. 'client|node(1)'", ("between",))
            if sides[0] == "client" and sides[1] == "client":
                raise LocatedValueError("between: client|client cuts the clients off from themselves: name a node"
                                        " on one side, e.g. 'client|node(1)'", ("between",))
            for side in sides:
                if side != "client":
                    try:
                        selector = parse_selector(side)
                    except ValueError as exc:
                        raise LocatedValueError(str(exc), ("between",)) from None
                    if selector.kind in ("consumer", "relay"):
                        raise LocatedValueError(f"between: {side} is a client; write client for the client side",
                                                ("between",))
            left, right = (s if s == "client" else parse_selector(s) for s in sides)
            if left == right and getattr(left, "kind", "") == "node":
                raise LocatedValueError(f"between: both sides are {left}: name two different sides", ("between",))
        if self.target is not None and self.target.kind in ("consumer", "relay"):
            raise LocatedValueError("partitions act on broker nodes: use node(i), leader(...), random",
                                    ("target",))
        return self

    def sides(self) -> tuple[Selector | str, Selector | str]:
        left, right = (s.strip() for s in (self.between or "").split("|"))

        def side(s: str) -> Selector | str:
            return s if s == "client" else parse_selector(s)

        return side(left), side(right)

    def what(self) -> str:
        extra = self.target or self.between or self.groups
        return f"{self.mode}" + (f" {extra}" if extra else "")

    def selectors(self) -> list[tuple[str, Selector]]:
        found = [("target", self.target)] if self.target is not None else []
        if self.between:
            found += [("between", side) for side in self.sides() if isinstance(side, Selector)]
        return found

    def silences(self) -> list[Silence]:
        """Nodes cut off from their peers (not a cut between clients and one node: its peers still see it)."""
        if self.between is not None and "client" in self.sides():
            return []
        return [Silence(self.target if self.mode in ("isolate", "disconnect") else None, "cut")]

    def check(self, scenario: Any, where: tuple[str | int, ...]) -> None:
        """Partitions need the nodes in their own namespaces, and enough nodes for their mode."""
        nodes = node_count(scenario.target)   # dedicated controllers are nodes to cut off too
        if scenario.network.isolation != "namespaces":
            raise LocatedValueError("partition needs network: {isolation: namespaces} (nodes in their own"
                                    " network namespaces)", (*where, "action"))
        if self.mode == "disconnect" and not RUNTIME_KINDS[scenario.runtime].disconnects:
            able = " or ".join(f"runtime: {name}" for name, kind in RUNTIME_KINDS.items() if kind.disconnects)
            raise LocatedValueError(f"mode disconnect takes a container off its Docker network: it needs {able}"
                                    f" (on runtime: {scenario.runtime}, mode: isolate cuts a node off)",
                                    (*where, "mode"))
        if self.groups:
            flat = [n for group in self.groups for n in group]
            if len(flat) != len(set(flat)) or not all(1 <= n <= nodes for n in flat):
                raise LocatedValueError(f"groups must name nodes 1..{nodes} at most once each", (*where, "groups"))
        if self.mode in ("halves", "majority", "minority", "majorities-ring", "bridge") and nodes < 3:
            raise LocatedValueError(f"mode {self.mode} needs at least 3 nodes", (*where, "mode"))
        if nodes < 2 and (self.mode == "isolate" or (self.mode == "asymmetric" and not self.between)):
            raise LocatedValueError(f"mode {self.mode} cuts nodes off from each other: it needs at least 2 nodes",
                                    (*where, "mode"))



def _target(spec: PartitionFault, env: FaultEnv) -> int:
    return env.node_of(spec.target) if spec.target is not None else env.rng.choice(env.node_numbers)


def _sides(spec: PartitionFault, env: FaultEnv) -> tuple[int, int]:
    """`between: A|B` as node numbers (clients are grudges.CLIENT); a random pair when absent."""
    if not spec.between:
        a, b = env.rng.sample(env.node_numbers, 2)
        return a, b
    a, b = (grudges.CLIENT if isinstance(s, str) else env.node_of(s) for s in spec.sides())  # a str side is "client"
    return a, b


# mode -> grudge, given the fault entry and the live cluster
MODES: dict[str, Callable[[PartitionFault, FaultEnv], grudges.Grudge]] = {
    "isolate": lambda spec, env: grudges.isolate(_target(spec, env), env.node_numbers),
    "halves": lambda spec, env: grudges.halves(env.node_numbers, env.rng),
    "minority": lambda spec, env: grudges.minority(_target(spec, env), env.node_numbers, env.rng),
    "majority": lambda spec, env: grudges.majority(_target(spec, env), env.node_numbers, env.rng),
    "majorities-ring": lambda spec, env: grudges.majorities_ring(env.node_numbers, env.rng),
    "bridge": lambda spec, env: grudges.bridge(env.node_numbers, env.rng),
    "groups": lambda spec, env: grudges.from_components(spec.groups or []),
    "asymmetric": lambda spec, env: grudges.asymmetric(*_sides(spec, env)),
    "cut": lambda spec, env: grudges.cut(*_sides(spec, env)),
}


@register_fault("partition")
class Partition:
    heals: ClassVar[bool] = True

    def __init__(self, spec: PartitionFault) -> None:
        self.spec = spec
        self.applied = False
        self.disconnected: int | None = None

    def inject(self, env: FaultEnv) -> list[str]:
        if env.network is None:
            raise ClusterError("partitions need network: {isolation: namespaces}")
        if self.spec.mode == "disconnect":
            return self._disconnect(env)
        grudge = MODES[self.spec.mode](self.spec, env)
        env.network.partition(id(self), grudge)
        self.applied = True
        return grudges.describe(grudge)

    def heal(self, env: FaultEnv) -> None:
        if self.applied:
            if self.disconnected is not None:
                env.network.connect(self.disconnected)
                self.disconnected = None
            else:
                env.network.heal(id(self))
            self.applied = False

    def verify(self, env: FaultEnv, healed: bool) -> Verification | None:
        """Probe every pair of sides: exactly the reachability the grudges in force intend (a node
        taken off its network: reachable by nobody), and after the heal, whatever remains in force."""
        if env.network is None:
            return None
        extra = None
        if self.disconnected is not None:
            extra = {self.disconnected: frozenset([grudges.CLIENT, *env.node_numbers]) - {self.disconnected}}
        seen = env.network.reachability(extra)
        return Verification(ok=not seen.wrong and seen.probed > 0, detail=seen.describe())

    def _disconnect(self, env: FaultEnv) -> list[str]:
        """The whole node off the network (clients lose it too), back at the same address on heal:
        what a pulled cable or a dead switch port does, rather than a firewall's selective drop."""
        if not hasattr(env.network, "disconnect"):   # validation refused it already (RuntimeKind.disconnects)
            raise ClusterError("mode disconnect needs runtime: docker (a container on the run's network)")
        node = _target(self.spec, env)
        env.network.disconnect(node)
        self.disconnected, self.applied = node, True
        return [f"node({node}) disconnected from the run network"]


