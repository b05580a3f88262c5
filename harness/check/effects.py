"""Did each fault bite? A kill, stop or pause of a node that led something (a partition, a queue,
the KRaft quorum) must move that leadership away from it, leave the thing without a leader, or
leave it unavailable (its log end held still while the fault was in force), while the fault is in
force or, for a fault whose failure detector fires even after the heal (a killed Kafka broker's
restart waits out its old session), until that detector's time has passed; the cluster's own
record (harness.observer, `observations`) says which and when. A fault whose effect the record
does not show proved nothing: `faults_without_effect` counts them (not those the scenario marks
`effect_required: false`), and a run that would otherwise pass is inconclusive (judge.py).

Where nothing recorded the cluster (no observations) the figure is None: unknown, never 0.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from harness.check.base import Finding, register
from harness.check.history import History
from harness.observer import UNKNOWN

LEADER_FAULTS = ("kill", "stop", "pause")
SLACK_NS = 3_000_000_000   # after a detector fires: an election, and the observer's next look
NO_LEADER = ("", "-", "-1", "none")


@dataclass
class Effect:
    """What one fault did to what its nodes led: each led thing's fate, in the record's words."""

    index: int
    action: str
    target: str
    resolved: list[str]
    led: dict[str, str] = field(default_factory=dict)   # subject -> what became of its leadership
    observed: bool = True                               # the record covers the fault and shows an effect
    required: bool = True                               # the scenario requires its effect
    checks: list[dict[str, Any]] = field(default_factory=list)   # what the fault measured of itself
    recovered: dict[str, str] = field(default_factory=dict)     # subject -> when its replicas were whole again

    def as_json(self) -> dict[str, Any]:
        return {"index": self.index, "action": self.action, "target": self.target, "resolved": self.resolved,
                "led": self.led, "observed": self.observed, "required": self.required, "checks": self.checks,
                "recovered": self.recovered}


Timeline = dict[str, list[tuple[int, str]]]   # subject -> [(ts_ns, leader)], in time order


def changes(history: History, attribute: str) -> Timeline:
    """Every subject's `attribute` (leader, end) as the record says it changed."""
    timeline: Timeline = {}
    for subject, ts_ns, value in history.sql(
            "SELECT subject, ts_ns, value FROM observations WHERE attribute = ? ORDER BY ts_ns", [attribute]):
        timeline.setdefault(subject, []).append((int(ts_ns), value or ""))
    return timeline


def looks(history: History) -> list[int]:
    """When the observer looked successfully."""
    return [int(ts) for (ts,) in history.sql(
        "SELECT ts_ns FROM observations WHERE subject = 'observer' AND attribute = 'sample' ORDER BY ts_ns")]


def leader_at(rows: list[tuple[int, str]], ts_ns: int) -> str | None:
    """The leader as last recorded at or before `ts_ns` (None: not recorded yet)."""
    found = None
    for when, value in rows:
        if when > ts_ns:
            break
        found = value
    return found


def restored(isr: list[tuple[int, str]], start: int, end: int | None, last_look: int) -> str | None:
    """When the in-sync set was whole again after the heal (as it was when the fault struck), in the
    record's words; None when the fault never shrank it."""
    before = leader_at(isr, start)
    if before is None:
        return None
    whole = set(before.split(";")) - {""}
    shrank = any(ts > start and not whole <= set(value.split(";")) for ts, value in isr)
    if not shrank:
        return None
    healed = end if end is not None else last_look
    back = next((ts for ts, value in isr if ts > start and ts >= healed and whole <= set(value.split(";"))), None)
    if back is None:
        return "in-sync replicas never whole again in the run"
    return f"in-sync replicas whole again {(back - healed) / 1e9:.1f}s after the heal"


def window(fault: dict[str, Any]) -> tuple[int, int | None, int | None]:
    """(struck, healed, until): until when the fault's effect may show (its heal, or its slowest
    failure detector's time and a little, whichever is later); None while it was never healed."""
    start, end = int(fault["started_ns"]), int(fault.get("healed_ns") or 0) or None
    within = fault.get("effect_within_s")
    until = end if end is None or within is None else max(end, start + int(within * 1e9) + SLACK_NS)
    return start, end, until


def _members(members: str | None, client: str) -> frozenset[str]:
    """The member ids one client holds in a group's recorded members (during a rebalance a killed
    instance's old member and its restart's new one are listed side by side)."""
    return frozenset(m.partition("@")[2] for m in (members or "").split(";") if m.partition("@")[0] == client)


def _client(subject: str, instance: str) -> tuple[str, str]:
    """How a consumer instance is listed under `subject`, and what the list is: a Kafka group's
    members by client id (<group>-<instance>), a queue's consumers by connection name (consumer-<instance>)."""
    if subject.startswith("queue:"):
        return f"consumer-{instance}", f"the consumers of {subject.removeprefix('queue:')}"
    return f"{subject.removeprefix('group:')}-{instance}", "the group"


def member_effect(fault: dict[str, Any], members: Timeline, run_start_ns: int) -> Effect:
    """What the record shows of a consumer's fault on its group (or its queue's consumers): its
    member left, or rejoined under a new member id (the group rebalanced; a new channel), or stayed
    as it was."""
    effect = Effect(fault["index"], fault["action"], fault["target"], list(fault.get("resolved") or []),
                    required=fault.get("required", True))
    start, _, until = window(fault)
    instance = effect.resolved[0].rpartition("-")[2] if effect.resolved else ""
    for subject, rows in sorted(members.items()):
        client, where = _client(subject, instance)
        known = [(ts, value) for ts, value in rows if value != UNKNOWN]
        before = _members(leader_at(known, start), client)
        if not before:
            continue   # not a member of this group when it struck
        changed = next(((ts, _members(value, client)) for ts, value in known
                        if ts > start and (until is None or ts <= until) and _members(value, client) != before), None)
        if changed is None:
            effect.led[subject] = f"{client} stayed in {where} as it was"
            effect.observed = False
        else:
            how = "rejoined as a new member" if changed[1] - before else f"left {where}"
            effect.led[subject] = f"{client} {how} at +{(changed[0] - run_start_ns) / 1e9:.1f}s"
    return effect


def effect_of(fault: dict[str, Any], timeline: Timeline, seen: list[int], run_start_ns: int,
              ends: Timeline | None = None, isrs: Timeline | None = None, answers: Timeline | None = None) -> Effect:
    """What the record shows of one fault on what its nodes led when it struck (`ends`: each
    subject's log end, where the broker has one; `answers`: whether each node answered the
    observer, where the broker's view says so: a queue whose leader stopped answering and that no
    other node took over was unavailable, which is the fault's effect)."""
    effect = Effect(fault["index"], fault["action"], fault["target"], list(fault.get("resolved") or []),
                    required=fault.get("required", True))
    start, end, until = window(fault)
    nodes = set(effect.resolved)
    during = [ts for ts in seen if ts > start and (until is None or ts <= until)]
    for subject, rows in sorted(timeline.items()):
        struck = leader_at(rows, start)
        if struck is None or struck not in nodes:
            continue
        after = [(ts, value) for ts, value in rows if ts > start and (until is None or ts <= until)]
        moved = next(((ts, value) for ts, value in after if value not in nodes), None)
        held = (ends or {}).get(subject)
        known = [(ts, value) for ts, value in held or [] if value != UNKNOWN]
        if moved is None and held is not None and end is not None and _held_still(known, seen, start, end):
            unread = any(start < ts <= end and value == UNKNOWN for ts, value in held)
            effect.led[subject] = (f"unavailable: stayed with {struck}, its log end held at {leader_at(known, start)}"
                                   + (" (unreadable: the leader did not answer)" if unread else "")
                                   + " until the heal")
        elif moved is None and (silent := _silent(struck, answers, start, until)) is not None:
            effect.led[subject] = (f"unavailable: its leader {struck} did not answer ({silent}) and no other node"
                                   " took over, until the heal")
        elif moved is None:
            stayed = "until the heal" if until is None or until == end else f"to +{(until - run_start_ns) / 1e9:.1f}s"
            effect.led[subject] = (f"stayed with {struck} {stayed}" if during
                                   else "not looked at while the fault was in force")
            effect.observed = False
        elif moved[1].lower() in NO_LEADER:
            effect.led[subject] = f"without a leader from +{(moved[0] - run_start_ns) / 1e9:.1f}s"
        else:
            effect.led[subject] = f"led by {moved[1]} from +{(moved[0] - run_start_ns) / 1e9:.1f}s"
        back = restored((isrs or {}).get(subject, []), start, end, seen[-1] if seen else start)
        if back is not None:
            effect.recovered[subject] = back
    return effect


HEAL_MARGIN_NS = 500_000_000   # a look begun this close before a heal's record may already see it undone


def _held_still(known: list[tuple[int, str]], seen: list[int], start: int, end: int) -> bool:
    """The recorded log end did not change from the first look after the strike (writes in flight
    when it struck may land before that look) until the heal (seen on Docker: a look begun while
    the unpause was under way read the new end 1 ms before the heal's record)."""
    first = next((ts for ts in seen if start < ts <= end), None)
    if first is None or not any(first < ts <= end - HEAL_MARGIN_NS for ts in seen):
        return False   # no second look that could have seen it move: no evidence either way
    return not any(first < ts <= end - HEAL_MARGIN_NS for ts, _ in known)


def _silent(node: str, answers: Timeline | None, start: int, until: int | None) -> str | None:
    """How `node` failed to answer the observer while the fault was in force (down, timeout), or None."""
    return next((value for ts, value in (answers or {}).get(f"node:{node}", [])
                 if ts > start and (until is None or ts <= until) and value not in ("yes", UNKNOWN)), None)


def injected(history: History) -> list[dict[str, Any]]:
    """The faults that struck (their journal records, healed or not, with what each measured of
    itself: `checks`), in order."""
    faults: dict[int, dict[str, Any]] = {}
    for event in history.journal_events():
        if event.get("event") == "inject":
            faults[event["index"]] = {**event, "checks": []}
        elif event.get("event") == "heal" and event.get("index") in faults:
            faults[event["index"]]["healed_ns"] = event.get("healed_ns")
        elif event.get("event") == "verify" and event.get("index") in faults:
            faults[event["index"]]["checks"].append({k: event.get(k) for k in ("phase", "ok", "detail")})
    return [faults[i] for i in sorted(faults)]


def measured(fault: dict[str, Any]) -> Effect:
    """A fault that measured itself (a partition's reachability): it bit when every check held."""
    return Effect(fault["index"], fault["action"], fault["target"], list(fault.get("resolved") or []),
                  observed=all(check["ok"] for check in fault["checks"]), required=fault.get("required", True),
                  checks=fault["checks"])


def _on_consumer(fault: dict[str, Any]) -> bool:
    return any(str(name).startswith("consumer-") for name in fault.get("resolved") or [])


TIMELINE_LIMIT = 5000   # leadership and in-sync changes kept for the report's timeline


def leadership(history: History, start_ns: int) -> list[dict[str, Any]]:
    """Every recorded change of a leader or an in-sync set, in seconds after `start_ns`: what the
    report draws beside the throughput (the first TIMELINE_LIMIT)."""
    return [{"subject": subject, "at_s": round((int(ts) - start_ns) / 1e9, 3), "attribute": attribute,
             "value": value or ""}
            for subject, ts, attribute, value in history.sql(
                "SELECT subject, ts_ns, attribute, value FROM observations WHERE attribute IN ('leader', 'isr')"
                f" AND (subject LIKE 'partition:%' OR subject LIKE 'queue:%' OR subject = 'controller')"
                f" ORDER BY ts_ns LIMIT {TIMELINE_LIMIT}")]


@register
class FaultEffectChecker:
    name = "fault_effects"
    metrics: tuple[str, ...] = ("faults_without_effect",)

    def check(self, history: History) -> Finding:
        seen = looks(history)
        faults = injected(history)
        effects = [measured(f) for f in faults if f["checks"]]
        if not seen and not effects:
            return Finding(self.name, {"faults_without_effect": None}, {"effects": [], "leadership": []})
        drawn: list[dict[str, Any]] = []
        if seen:
            timeline, ends, isrs = changes(history, "leader"), changes(history, "end"), changes(history, "isr")
            answers = changes(history, "answers")
            start = history.load_start_ns() or seen[0]
            members = {subject: rows for subject, rows in changes(history, "members").items()
                       if subject.startswith("group:")} | changes(history, "consumers")
            led = [member_effect(f, members, start) if _on_consumer(f)
                   else effect_of(f, timeline, seen, start, ends, isrs, answers)
                   for f in faults if f["action"] in LEADER_FAULTS and not f["checks"]]
            effects += [e for e in led if e.led]   # a fault on nodes that led nothing has no leadership to move
            drawn = leadership(history, start)
        effects.sort(key=lambda e: e.index)
        return Finding(self.name, {"faults_without_effect": sum(not e.observed and e.required for e in effects)},
                       {"effects": [e.as_json() for e in effects], "leadership": drawn})
