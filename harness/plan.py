"""Scenario -> schedule: faults ordered in time, `random` resolved with the seed, heals placed.

The schedule is written to the run directory before the run starts, so a seed reproduces it.
Leaders and controllers are resolved only when a fault fires: who leads depends on the run.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass

from harness.faults import FAULTS
from harness.scenario.model import Scenario
from harness.scenario.selectors import Selector


@dataclass(frozen=True)
class PlannedFault:
    index: int
    at: float                    # seconds after load start
    action: str
    target: Selector
    heal_at: float | None        # seconds after load start; None: heals at the end of the load

    def describe(self) -> str:
        heal = f", heal at {self.heal_at:g}s" if self.heal_at is not None else ""
        return f"{self.at:g}s {self.action} {self.target}{heal}"

    def as_json(self) -> dict[str, object]:
        data = asdict(self)
        data["target"] = str(self.target)
        return data


@dataclass(frozen=True)
class Schedule:
    seed: int
    faults: tuple[PlannedFault, ...]
    load_duration: float

    def as_json(self) -> dict[str, object]:
        return {"seed": self.seed, "load_duration": self.load_duration,
                "faults": [f.as_json() for f in self.faults]}


def plan(scenario: Scenario) -> Schedule:
    rng = random.Random(scenario.seed)
    nodes = scenario.target.nodes
    planned = []
    for index, spec in enumerate(scenario.faults):
        target = spec.target
        if target.kind == "random":
            target = Selector("node", (str(rng.randint(1, nodes)),))
        heals = FAULTS[spec.action].heals
        heal_at = spec.at + spec.heal_after if heals and spec.heal_after is not None else None
        if heal_at is not None and heal_at > scenario.load.duration:
            heal_at = None  # the end-of-load heal comes first
        planned.append(PlannedFault(index, spec.at, spec.action, target, heal_at))
    planned.sort(key=lambda f: (f.at, f.index))
    return Schedule(scenario.seed, tuple(planned), scenario.load.duration)
