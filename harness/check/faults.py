"""Did the faults happen? A fault that could not fire (or heal) leaves a run that tested less than
its scenario says; the judge expects none unless the scenario allows some."""

from __future__ import annotations

from harness.check.base import Finding, register
from harness.check.history import History


@register
class FaultChecker:
    name = "faults"
    metrics: tuple[str, ...] = ("faults_injected", "faults_failed")

    def check(self, history: History) -> Finding:
        injected = 0
        failed: dict[object, dict[str, object]] = {}   # by fault index
        for n, event in enumerate(history.journal_events()):
            if event.get("event") == "inject":
                injected += 1
            elif event.get("event") == "error" or (event.get("event") == "heal" and event.get("error")):
                # counted once per fault: the heal record of a fault that could not fire carries its error
                failed.setdefault(event.get("index", f"event {n}"), {
                    "at_s": event.get("started_s"), "action": event.get("action"),
                    "target": event.get("target"), "error": event.get("error")})
        return Finding(self.name, {"faults_injected": injected, "faults_failed": len(failed)},
                       {"failed": list(failed.values())})
