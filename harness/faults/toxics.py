"""Link faults through Toxiproxy: latency, bandwidth, timeouts, resets, slicing, data limits, down."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field, model_validator

from harness.errors import ClusterError
from harness.faults.base import FaultEntry, FaultEnv, Verification, register_entry, register_fault
from harness.scenario.durations import Duration
from harness.scenario.links import LinkField
from harness.scenario.located import LocatedValueError
from harness.scenario.numbers import FiniteFloat, Whole
from harness.scenario.selectors import Selector
from harness.services.proxies import Path


@register_entry
class ToxicFault(FaultEntry):
    """A Toxiproxy toxic on every proxy of a link (or the link taken down)."""

    needs_proxies: ClassVar[bool] = True

    action: Literal["latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down"]
    link: LinkField
    stream: Literal["upstream", "downstream", "both"] = "both"
    toxicity: FiniteFloat = Field(1.0, ge=0.0, le=1.0)
    latency: Duration = 0.0
    jitter: Duration = 0.0
    rate: Whole | None = Field(None, ge=0, le=2**31 - 1, description="bandwidth in KB/s")
    delay: Duration = 0.0           # slow_close
    timeout: Duration = 0.0         # timeout / reset_peer (0: never closes / immediately)
    average_size: Whole = Field(64, ge=1, le=2**31 - 1)   # slicer
    size_variation: Whole = Field(32, ge=0, le=2**31 - 1)
    slice_delay: Duration = 0.0
    bytes: Whole | None = Field(None, ge=0, description="limit_data: close after this many bytes")

    @model_validator(mode="after")
    def _needs_its_parameter(self) -> ToxicFault:
        if self.action == "latency" and self.latency <= 0:
            raise LocatedValueError("latency needs latency: (e.g. 300ms)", ("latency",))
        if self.action == "bandwidth" and self.rate is None:
            raise LocatedValueError("bandwidth needs rate: in KB/s", ("rate",))
        if self.action == "limit_data" and self.bytes is None:
            raise LocatedValueError("limit_data needs bytes:", ("bytes",))
        if self.jitter > self.latency:
            raise LocatedValueError("jitter cannot exceed latency", ("jitter",))
        return self

    def what(self) -> str:
        return str(self.link)

    def selectors(self) -> list[tuple[str, Selector]]:
        found = [("link", self.link.dest)] if self.link.dest is not None else []
        if self.link.source_index is not None:
            found.append(("link", Selector("consumer", (str(self.link.source_index),))))
        return found



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

    def verify(self, env: FaultEnv, healed: bool) -> Verification | None:
        return None   # not measured through the proxy yet (issue 17 point 2)


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

    def verify(self, env: FaultEnv, healed: bool) -> Verification | None:
        return None   # not measured through the proxy yet (issue 17 point 2)
