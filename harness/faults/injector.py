"""Fires the schedule's faults and heals on time, journals each one, and heals whatever is left."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rich.markup import escape

from harness.errors import Interrupted
from harness.faults.base import FAULTS, Fault, FaultEnv, Verification
from harness.ledger.journal import FaultJournal, FaultRecord
from harness.plan import PlannedFault, Schedule

LATE_S = 1.0   # a fault that takes effect later than this after its time is reported as late

log = logging.getLogger("aftershock")

__all__ = ["FaultInjector", "FaultRecord"]


@dataclass
class _Active:
    planned: PlannedFault
    fault: Fault
    record: FaultRecord
    heal_at: float | None = None   # the planned heal, moved by as much as the fault took effect late


class FaultInjector:
    """Called from the orchestrator's main loop (`tick`): faults run on the main thread, so
    processes they restart stay tied to the orchestrator's lifetime."""

    def __init__(self, schedule: Schedule, env_for: Callable[[PlannedFault], FaultEnv], journal_path: Path,
                 on_event: Callable[[str], None] = lambda _: None, poke: Callable[[], None] = lambda: None) -> None:
        self.pending = list(schedule.faults)
        self.env_for = env_for
        self.records: list[FaultRecord] = []
        self.active: list[_Active] = []
        self.journal_path = journal_path
        self.journal = FaultJournal(journal_path)
        self.on_event = on_event
        self.poke = poke   # after each fault and heal: the cluster observer looks at once
        self.load_start_ns = 0

    def start(self, load_start_ns: int) -> None:
        self.load_start_ns = load_start_ns

    def tick(self) -> None:
        """Everything due by now, in time order: a heal due by a fault's start comes before it, even
        when one late tick sees both (a second kill of a node must not hit it before it restarts)."""
        elapsed = self._elapsed()
        while self.pending and self.pending[0].at <= elapsed:
            planned = self.pending.pop(0)
            self._heal_due(planned.at)
            self._inject(planned)
        self._heal_due(elapsed)

    def heal_all(self) -> None:
        """The final heal: every fault still in force is undone, in reverse order."""
        for active in reversed(list(self.active)):
            self._heal(active)

    def __enter__(self) -> FaultInjector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.heal_all()

    # ------------------------------------------------------------------------------------
    def _heal_due(self, by: float) -> None:
        due = [a for a in self.active if a.heal_at is not None and a.heal_at <= by]
        for active in sorted(due, key=lambda a: a.heal_at or 0.0):
            self._heal(active)

    def _elapsed(self) -> float:
        return (time.time_ns() - self.load_start_ns) / 1e9

    def _inject(self, planned: PlannedFault) -> None:
        record = FaultRecord(planned.index, planned.action, planned.what, planned.at, planned.origin,
                             required=planned.spec.effect_required, effect_within_s=planned.effect_within)
        self.records.append(record)
        fault = FAULTS[planned.action](planned.spec)
        record.started_ns = time.time_ns()
        record.started_s = round(self._elapsed(), 3)
        try:
            record.resolved = fault.inject(self.env_for(planned))
        except (Exception, KeyboardInterrupt) as exc:  # noqa: BLE001 - a fault that could not fire is journalled
            record.error = f"{type(exc).__name__}: {exc}"
            log.warning("fault %s failed: %s", planned.describe(), record.error)
            self._journal("error", record)
            self.on_event(f"[red]fault failed[/] {escape(planned.action)} {escape(planned.what)}:"
                          f" {escape(record.error)}")
            # whatever it managed to do before failing is still undone at heal time
            self.active.append(_Active(planned, fault, record, planned.heal_at))
            if isinstance(exc, (Interrupted, KeyboardInterrupt)):
                raise  # Ctrl-C or SIGTERM (the run's handler raises Interrupted right here): the run unwinds
            return  # any other failure: the run goes on
        # In force from now: resolving the target (asking the cluster for a leader) can take seconds
        # while the cluster is hurt, and so can the action (a clean stop waits for the broker's
        # controlled shutdown); the record must say when the fault bit, not when it was asked for.
        record.started_ns = time.time_ns()
        record.started_s = round(self._elapsed(), 3)
        late = record.started_s - planned.at
        resolved = ", ".join(record.resolved)
        if late > LATE_S:
            log.warning("fault %s took effect %.1fs late (resolving its target and acting took that long)",
                        planned.describe(), late)
            self.on_event(f"[yellow]{escape(planned.action)} {escape(planned.what)} took effect {late:.1f}s late[/]"
                          " (resolving its target and acting took that long); it lasts its planned time from then")
        log.info("fault %s -> %s", planned.describe(), resolved)
        self._journal("inject", record)
        self.poke()
        self._verify(fault, planned, record, "inject")
        self.on_event(f"[yellow]{escape(planned.action)}[/] {escape(planned.what)} -> {escape(resolved)}")
        if fault.heals:
            heal_at = None if planned.heal_at is None else planned.heal_at + max(0.0, late)
            self.active.append(_Active(planned, fault, record, heal_at))
        else:
            record.healed_ns, record.healed_s = record.started_ns, record.started_s

    def _heal(self, active: _Active) -> None:
        record = active.record
        try:
            active.fault.heal(self.env_for(active.planned))
        except Interrupted:
            raise  # the fault stays in force: the final heal, under held signals, undoes it
        except Exception as exc:  # noqa: BLE001
            record.error = f"heal failed: {type(exc).__name__}: {exc}"
            log.error("heal of %s failed: %s", record.target, record.error)
        self.active.remove(active)
        record.healed_ns = time.time_ns()
        record.healed_s = round(self._elapsed(), 3)
        log.info("healed %s %s", record.action, ", ".join(record.resolved))
        self._journal("heal", record)
        self.poke()
        self._verify(active.fault, active.planned, record, "heal")
        self.on_event(f"[green]heal[/] {escape(record.action)} {escape(', '.join(record.resolved) or record.target)}")

    def _verify(self, fault: Fault, planned: PlannedFault, record: FaultRecord, phase: str) -> None:
        """What the fault measures of itself now (a partition: reachability between every pair),
        journalled beside it; a measurement that fails is a failed check, never a silent pass."""
        try:
            found = fault.verify(self.env_for(planned), healed=phase == "heal")
        except Interrupted:
            raise
        except Exception as exc:  # noqa: BLE001 - could not measure: the fault is not shown to have bitten
            found = Verification(False, f"could not measure: {type(exc).__name__}: {exc}")
        if found is None:
            return
        check = {"phase": phase, "ok": found.ok, "detail": found.detail}
        record.checks.append(check)
        self.journal.write("verify", {"index": record.index, "action": record.action, **check})
        if not found.ok:
            log.warning("%s %s %s: not as meant: %s", record.action, record.target, phase, found.detail)
            state = "in force" if phase == "inject" else "undone"
            self.on_event(f"[red]{escape(record.action)} {escape(record.target)} not {state} as meant[/]:"
                          f" {escape(found.detail)}")
        else:
            log.info("%s %s %s verified: %s", record.action, record.target, phase, found.detail)

    def _journal(self, event: str, record: FaultRecord) -> None:
        self.journal.record(event, record)
