"""Fault entries of a scenario, one model per family, told apart by `action`."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from harness.scenario.durations import Duration
from harness.scenario.links import LinkField
from harness.scenario.located import LocatedValueError
from harness.scenario.numbers import FiniteFloat, Whole
from harness.scenario.selectors import Selector, SelectorField, parse_selector

PROCESS_ACTIONS = ("kill", "stop", "pause", "restart")
TOXIC_ACTIONS = ("latency", "bandwidth", "slow_close", "timeout", "reset_peer", "slicer", "limit_data", "down")
PARTITION_MODES = ("isolate", "halves", "majority", "minority", "majorities-ring", "bridge", "asymmetric",
                   "groups", "cut")


class _Fault(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    at: Duration
    heal_after: Duration | None = None


class ProcessFault(_Fault):
    """A broker node or consumer process dies, hangs or restarts."""

    action: Literal["kill", "stop", "pause", "restart"]
    target: SelectorField


class ToxicFault(_Fault):
    """A Toxiproxy toxic on every proxy of a link (or the link taken down)."""

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


class PartitionFault(_Fault):
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


FaultSpec = Annotated[ProcessFault | ToxicFault | PartitionFault, Field(discriminator="action")]
