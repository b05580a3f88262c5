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
from harness.services.link_probe import ANSWERED, CLOSED, REFUSED, SILENT, round_trip
from harness.services.proxies import Path

PROBE_WAIT = 3.0   # seconds a round trip through a proxy may take before it counts as unanswered
# action -> how long its round trip may take before it counts as unanswered, given the entry
_MEASURED: dict[str, Any] = {
    "latency": lambda spec: spec.latency + spec.jitter + PROBE_WAIT,
    "timeout": lambda spec: spec.timeout + PROBE_WAIT if spec.timeout else 1.5,
    "reset_peer": lambda spec: spec.timeout + PROBE_WAIT,
}


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


def measurable(paths: list[Path], greeting: bytes) -> Path:
    """The first path whose broker answers directly, bypassing its proxy: through the proxy of a
    broker an earlier fault killed, Toxiproxy closes every connection, toxic or none (seen: a
    latency toxic on client->any called powerless because its first path led to a killed leader)."""
    for path in paths:
        if round_trip(path.upstream, greeting, PROBE_WAIT).how == ANSWERED:
            return path
    return paths[0]   # none answers: what the first one shows is all there is to see


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
        self._applied: list[tuple[str, str]] = []   # what the heal removed, for its check

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
        self._applied, self.added = list(self.added), []

    def verify(self, env: FaultEnv, healed: bool) -> Verification | None:
        """In force: a round trip through one of its proxies shows the toxic (latency: an answer
        at least 80% of the latency late; timeout: none; reset_peer: the connection ended). Healed:
        Toxiproxy lists none of its toxics. Toxics that only slow or cut long transfers (bandwidth,
        slicer, slow_close, limit_data) and probabilistic ones (toxicity below 1) are not measured."""
        if healed:
            left = sorted(name for proxy, name in self._applied
                          for toxic in env.proxies.client.proxies().get(proxy, {}).get("toxics", [])
                          if toxic.get("name") == name)
            return Verification(not left, f"toxics still listed: {', '.join(left)}" if left else "no toxic left")
        if self.spec.toxicity < 1 or not env.greeting or self.spec.action not in _MEASURED:
            return None
        path = measurable(_paths(self.spec, env), env.greeting)
        wait = _MEASURED[self.spec.action](self.spec)
        answer = round_trip(path.listen, env.greeting, wait)
        if self.spec.action == "latency":
            least = 0.8 * (self.spec.latency - self.spec.jitter)
            ok = answer.how == ANSWERED and answer.seconds >= least
            return Verification(ok, f"through {path.name}: {answer.describe()} (latency {self.spec.latency * 1000:g} ms"
                                    f" asked, at least {least * 1000:.0f} ms wanted)")
        wanted = SILENT if self.spec.action == "timeout" and self.spec.timeout == 0 else CLOSED
        ok = answer.how in (wanted, CLOSED) if self.spec.action == "timeout" else answer.how == CLOSED
        return Verification(ok, f"through {path.name}: {answer.describe()} ({wanted} wanted)")


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
        """A connection to its first proxy refused while down, answered once healed."""
        paths = {path.name: path for path in _paths(self.spec, env)}
        names = self.disabled if not healed else sorted(paths)
        if not names or not env.greeting:
            return None
        # down, any disabled proxy refuses; healed, one whose broker answers must answer through it
        path = measurable([paths[name] for name in names], env.greeting) if healed else paths[names[0]]
        answer = round_trip(path.listen, env.greeting, PROBE_WAIT)
        wanted = ANSWERED if healed else REFUSED
        return Verification(answer.how == wanted, f"through {path.name}: {answer.describe()} ({wanted} wanted)")
