"""Seeded nemesis schedules: faults of the given kinds at random intervals, never overlapping,
each healed before the next begins (Jepsen's nemesis packages, in miniature)."""

from __future__ import annotations

import random
from collections.abc import Callable

from pydantic import TypeAdapter

from harness.scenario.fault_specs import FaultSpec
from harness.scenario.model import MAX_FAULTS, NemesisSpec

_SPEC = TypeAdapter(FaultSpec)

# kind -> the fault entry it generates (at / heal_after added by the generator)
_KINDS: dict[str, Callable[[random.Random], dict[str, object]]] = {
    "kill": lambda rng: {"action": "kill", "target": "random"},
    "pause": lambda rng: {"action": "pause", "target": "random"},
    "restart": lambda rng: {"action": "restart", "target": "random"},
    "partition": lambda rng: {"action": "partition",
                              "mode": rng.choice(["isolate", "halves", "majorities-ring", "minority"])},
    "latency": lambda rng: {"action": "latency", "link": "client->any", "latency": "200ms", "jitter": "50ms"},
    "down": lambda rng: {"action": "down", "link": "client->random"},
}


def generate(nemesis: NemesisSpec, load_duration: float, rng: random.Random) -> list[FaultSpec]:
    """At most MAX_FAULTS faults, each starting strictly after the last one healed, whatever the spec
    says (validation refuses a spec that could reach the cap; the cap keeps this loop finite anyway)."""
    stop = nemesis.stop if nemesis.stop is not None else load_duration - 5
    faults: list[FaultSpec] = []
    at = nemesis.start
    while len(faults) < MAX_FAULTS:
        duration = round(rng.uniform(0.5, 1.5) * nemesis.duration, 3)
        if not at + duration <= stop:  # NaN compares false: it stops the schedule too
            break
        entry = _KINDS[rng.choice(nemesis.kinds)](rng)
        faults.append(_SPEC.validate_python({**entry, "at": at, "heal_after": duration}))
        at = max(round(at + duration + rng.uniform(0.5, 1.5) * nemesis.interval, 3), round(at + duration + 0.001, 3))
    return faults
