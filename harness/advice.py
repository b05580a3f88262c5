"""Warnings about schedules that cannot bite, at the fault's line: a fault healed before the failure
detector that must notice it has fired (the broker's: Cluster rules' `detectors`), and a leader
fault that strikes while an earlier fault on the same leader has not moved that leadership yet (it
hits the same node again). Advice, not errors: the run may still mean it (`effect_required: false`
says so and silences the warning), and a run shows what really happened (harness.check.effects).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from harness.brokers.base import Detector
from harness.errors import AftershockError
from harness.plan import PlannedFault, plan
from harness.scenario.model import Scenario
from harness.scenario.selectors import Selector

Loc = tuple[str | int, ...]


@dataclass(frozen=True)
class Advice:
    loc: Loc        # where in the scenario file, as validation errors locate theirs
    message: str


def advise(scenario: Scenario) -> list[Advice]:
    """Every warning the scenario's schedule earns, in schedule order; each variant of a matrix is
    advised on its own, and a warning they share is given once."""
    from harness.scenario.matrix import variants

    found: dict[Advice, None] = {}
    for variant in variants(scenario) if scenario.matrix else [None]:
        for advice in _advise_one(variant.scenario if variant is not None else scenario):
            found.setdefault(advice)
    return list(found)


def _advise_one(scenario: Scenario) -> list[Advice]:
    schedule = plan(scenario)
    written = len(scenario.faults)
    found: list[Advice] = []
    short_nemesis: list[tuple[PlannedFault, Detector]] = []
    for fault in schedule.faults:
        if not fault.spec.effect_required:
            continue
        heal = fault.heal_at if fault.heal_at is not None else schedule.load_duration
        missed = [d for d in fault.detectors if not d.outlives_heal and heal - fault.at < d.seconds]
        if not missed:
            continue
        slowest = max(missed, key=lambda d: d.seconds)
        if fault.index >= written:
            short_nemesis.append((fault, slowest))
            continue
        key = "heal_after" if fault.spec.heal_after is not None else "at"
        lasts = (f"heals {heal - fault.at:g}s after it strikes" if fault.spec.heal_after is not None
                 else f"lasts {heal - fault.at:g}s, to the end of the load")
        found.append(Advice(("faults", fault.index, key),
                            f"{fault.action} {fault.what} {lasts}, but {slowest.waits} only after"
                            f" {slowest.setting} ({slowest.seconds:g}s): heal after {slowest.seconds + 2:g}s or"
                            " later, or set effect_required: false if no effect is the point"))
    if short_nemesis:
        fault, slowest = max(short_nemesis, key=lambda pair: pair[1].seconds)
        found.append(Advice(("nemesis", "duration"),
                            f"{len(short_nemesis)} of the nemesis's {len(schedule.faults) - written} faults heal"
                            f" too soon (they last 0.5 to 1.5 times duration): {slowest.waits} only after"
                            f" {slowest.setting} ({slowest.seconds:g}s); set duration to"
                            f" {(slowest.seconds + 2) / 0.5:g}s or more"))
    found += _restrikes(schedule.faults, written)
    return found


def _restrikes(faults: tuple[PlannedFault, ...], written: int) -> list[Advice]:
    """A fault on leader(...) or controller that strikes before an earlier fault on the same one
    could have moved it: the leader is still the node the earlier fault silenced."""
    found = []
    for i, later in enumerate(faults):
        target = getattr(later.spec, "target", None)
        if later.index >= written or not isinstance(target, Selector) or target.kind not in ("leader", "controller"):
            continue
        for earlier in faults[:i]:
            if getattr(earlier.spec, "target", None) != target or not earlier.spec.effect_required:
                continue
            moves = earlier.effect_within or 0.0
            if earlier.at <= later.at < earlier.at + moves:
                found.append(Advice(("faults", later.index, "at"),
                                    f"{later.action} {target} at {later.at:g}s: the {earlier.action} of {target} at"
                                    f" {earlier.at:g}s cannot have moved that leadership before"
                                    f" {earlier.at + moves:g}s, so this strikes the node it silenced again;"
                                    f" strike at {earlier.at + moves + 2:g}s or later"))
                break
    return found


def located(advice: list[Advice], path: Path) -> list[str]:
    """Each warning as `file:line:col: key: message`, like a validation error."""
    from harness.scenario.loader import locate

    return [locate(path, a.loc, a.message) for a in advice]


def schedule_warnings(scenario: Scenario, source: Path | None) -> list[str]:
    """The warnings as lines: located in `source` when it can be read, else by key."""
    found = advise(scenario)
    if source is not None:
        try:
            return located(found, source)
        except (OSError, AftershockError):
            pass   # the file changed or went since it was loaded: the keys still say where
    return [f"{'.'.join(map(str, a.loc))}: {a.message}" for a in found]
