"""Link faults through Toxiproxy: latency, bandwidth, timeouts, resets, slicing, data limits, down."""

from __future__ import annotations

from typing import Any, ClassVar

from harness.errors import ClusterError
from harness.faults.base import FaultEnv, register_fault
from harness.scenario.fault_specs import ToxicFault
from harness.services.proxies import Path


def toxic_attributes(spec: ToxicFault) -> tuple[str, dict[str, Any]]:
    """Scenario fields -> (toxiproxy toxic type, attributes); Toxiproxy wants milliseconds."""
    def ms(seconds: float) -> int:
        return int(round(seconds * 1000))

    by_action: dict[str, tuple[str, dict[str, Any]]] = {
        "latency": ("latency", {"latency": ms(spec.latency), "jitter": ms(spec.jitter)}),
        "bandwidth": ("bandwidth", {"rate": spec.rate}),
        "slow_close": ("slow_close", {"delay": ms(spec.delay)}),
        "timeout": ("timeout", {"timeout": ms(spec.timeout)}),
        "reset_peer": ("reset_peer", {"timeout": ms(spec.timeout)}),
        "slicer": ("slicer", {"average_size": spec.average_size, "size_variation": spec.size_variation,
                              "delay": int(spec.slice_delay * 1_000_000)}),  # microseconds
        "limit_data": ("limit_data", {"bytes": spec.bytes}),
    }
    return by_action[spec.action]


def _paths(spec: ToxicFault, env: FaultEnv) -> list[Path]:
    if env.proxies is None:
        raise ClusterError("link faults need the Toxiproxy network, which this run did not start")
    node = env.node_of(spec.link.dest) if spec.link.dest is not None else None
    paths = env.proxies.select(spec.link, node)
    if not paths:
        raise ClusterError(f"link {spec.link} crosses no proxy")
    return paths


@register_fault("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data")
class Toxic:
    """The same toxic on every proxy of the link, on the chosen stream(s)."""

    heals: ClassVar[bool] = True

    def __init__(self, spec: ToxicFault) -> None:
        self.spec = spec
        self.added: list[tuple[str, str]] = []   # (proxy, toxic name)

    def inject(self, env: FaultEnv) -> list[str]:
        kind, attributes = toxic_attributes(self.spec)
        streams = ["upstream", "downstream"] if self.spec.stream == "both" else [self.spec.stream]
        for path in _paths(self.spec, env):
            for stream in streams:
                name = f"{kind}-{stream}-{id(self):x}"
                env.proxies.client.add_toxic(path.name, name, kind, stream, self.spec.toxicity, attributes)
                self.added.append((path.name, name))
        return sorted({proxy for proxy, _ in self.added})

    def heal(self, env: FaultEnv) -> None:
        for proxy, name in self.added:
            env.proxies.client.remove_toxic(proxy, name)
        self.added.clear()


@register_fault("down")
class ProxyDown:
    """The link's proxies disabled: connections refused and existing ones closed."""

    heals: ClassVar[bool] = True

    def __init__(self, spec: ToxicFault) -> None:
        self.spec = spec
        self.disabled: list[str] = []

    def inject(self, env: FaultEnv) -> list[str]:
        for path in _paths(self.spec, env):
            env.proxies.client.set_enabled(path.name, False)
            self.disabled.append(path.name)
        return list(self.disabled)

    def heal(self, env: FaultEnv) -> None:
        for name in self.disabled:
            env.proxies.client.set_enabled(name, True)
        self.disabled.clear()
