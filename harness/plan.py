"""Scenario -> schedule: faults ordered in time, `random` resolved with the seed, heals placed.

The schedule is written to the run directory before the run starts, so a seed reproduces it.
Leaders and controllers are resolved only when a fault fires: who leads depends on the run.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from harness.brokers import broker
from harness.brokers.base import Detector
from harness.faults import FAULTS
from harness.nemesis import generate
from harness.scenario.fault_specs import FaultSpec
from harness.scenario.model import Scenario
from harness.scenario.selectors import Selector


@dataclass(frozen=True)
class PlannedFault:
    index: int
    at: float                    # seconds after load start
    spec: FaultSpec
    heal_at: float | None        # seconds after load start; None: heals when the load ends
    seed: int                    # for choices made when the fault fires (halves, random pairs)
    origin: str = "faults"       # or "nemesis"
    detectors: tuple[Detector, ...] = ()   # what must notice the members it silences (the broker's rules)

    @property
    def effect_within(self) -> float | None:
        """Seconds after it strikes by which its effect must show: the slowest failure detector it
        must trip (None: it silences nothing, its effect is immediate or not the cluster's)."""
        return max((d.seconds for d in self.detectors), default=None)

    @property
    def action(self) -> str:
        return self.spec.action

    @property
    def what(self) -> str:
        """The fault's object as the user wrote it: target, link or partition mode."""
        return self.spec.what()

    def describe(self) -> str:
        heal = f", heal at {self.heal_at:g}s" if self.heal_at is not None else ""
        return f"{self.at:g}s {self.action} {self.what}{heal}"

    def as_json(self) -> dict[str, object]:
        return {"index": self.index, "at": self.at, "action": self.action, "what": self.what,
                "heal_at": self.heal_at, "origin": self.origin, "seed": self.seed,
                "effect_within": self.effect_within, "effect_required": self.spec.effect_required,
                "spec": self.spec.model_dump(mode="json", exclude_defaults=True)}


@dataclass(frozen=True)
class Schedule:
    seed: int
    faults: tuple[PlannedFault, ...]
    load_duration: float

    def as_json(self) -> dict[str, object]:
        return {"seed": self.seed, "load_duration": self.load_duration,
                "faults": [f.as_json() for f in self.faults]}


def _resolve_random(spec: FaultSpec, rng: random.Random, nodes: int) -> FaultSpec:
    """`random` targets become node(k) at plan time, so the schedule shows (and repeats) the choice."""
    target = getattr(spec, "target", None)
    if isinstance(target, Selector) and target.kind == "random":
        spec = spec.model_copy(update={"target": Selector("node", (str(rng.randint(1, nodes)),))})
    link = getattr(spec, "link", None)
    if link is not None and link.dest is not None and link.dest.kind == "random":
        dest = Selector("node", (str(rng.randint(1, nodes)),))
        spec = spec.model_copy(update={"link": replace(link, dest=dest)})
    return spec


def plan(scenario: Scenario) -> Schedule:
    rng = random.Random(scenario.seed)
    nodes = scenario.target.nodes
    specs = [(spec, "faults") for spec in scenario.faults]
    if scenario.nemesis is not None:
        specs += [(spec, "nemesis") for spec in generate(scenario.nemesis, scenario.load.duration, rng)]
    rules = broker(scenario.target.kind).rules
    planned = []
    for index, (spec, origin) in enumerate(specs):
        spec = _resolve_random(spec, rng, nodes)
        heal_at = spec.at + spec.heal_after if FAULTS[spec.action].heals and spec.heal_after is not None else None
        if heal_at is not None and heal_at > scenario.load.duration:
            heal_at = None  # the end-of-load heal comes first
        detectors = tuple(d for silence in spec.silences() for d in rules.detectors(scenario, silence))
        planned.append(PlannedFault(index, spec.at, spec, heal_at, rng.randrange(2**31), origin, detectors))
    planned.sort(key=lambda f: (f.at, f.index))
    return Schedule(scenario.seed, tuple(planned), scenario.load.duration)
