"""Network partitions: a grudge computed from the mode, applied as iptables rules in the
nodes' namespaces, removed on heal."""

from __future__ import annotations

from collections.abc import Callable
from typing import ClassVar

from harness.errors import ClusterError
from harness.faults.base import FaultEnv, register_fault
from harness.network import grudges
from harness.scenario.fault_specs import PartitionFault


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

    def _disconnect(self, env: FaultEnv) -> list[str]:
        """The whole node off the network (clients lose it too), back at the same address on heal:
        what a pulled cable or a dead switch port does, rather than a firewall's selective drop."""
        if not hasattr(env.network, "disconnect"):
            raise ClusterError("mode disconnect needs runtime: docker (a container on the run's network)")
        node = _target(self.spec, env)
        env.network.disconnect(node)
        self.disconnected, self.applied = node, True
        return [f"node({node}) disconnected from the run network"]


