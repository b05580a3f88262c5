"""The reporter interface and its registry: each reporter renders a RunResult into the run directory
or the console; one in another installed package registers through the `aftershock.reporters`
entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rich.console import Console

from harness.plugins import load_entry_points
from harness.results import RunResult


def fault_effect(result: RunResult, index: int, action: str) -> str:
    """What the cluster's own record shows a fault did to what its nodes led ('' where it led nothing
    or is not a leadership fault); a missing effect says so, and so does a run with no record."""
    from harness.check.effects import LEADER_FAULTS

    effects = {effect["index"]: effect for effect in result.samples.get("fault_effects.effects") or []}
    if index not in effects and (action not in LEADER_FAULTS or "fault_effects.effects" not in result.samples):
        return ""
    if index not in effects and result.metrics.get("faults_without_effect") is None:
        return "unknown: no record of the cluster's own view"
    effect = effects.get(index)
    if effect is None:
        return "led nothing"
    recovered = effect.get("recovered") or {}
    text = "; ".join([f"{subject.split(':', 1)[-1]} {fate}"
                      + (f", {recovered[subject]}" if subject in recovered else "")
                      for subject, fate in effect["led"].items()]
                     + [f"{c['phase']}: {c['detail']}" for c in effect.get("checks") or []])
    if effect["observed"]:
        return text
    return f"NO EFFECT: {text}" + ("" if effect.get("required", True) else " (not required)")


def second_opinion_line(result: RunResult) -> str:
    """The broker's own count beside the ledgers', in a sentence ('' when none was asked for)."""
    second = result.second_opinion
    if not second:
        return ""
    if second.get("disagreement"):
        return f"second opinion: {second['disagreement']}"
    return (f"second opinion (every replica's final log): lost {second['lost']}, log duplicates"
            f" {second['log_duplicates']}: agrees with the consumers' ledgers")


class Reporter(Protocol):
    name: str

    def write(self, result: RunResult, out_dir: Path, console: Console) -> Path | None: ...


REPORTERS: dict[str, type[Reporter]] = {}


def register_reporter(cls: type[Reporter]) -> type[Reporter]:
    REPORTERS[cls.name] = cls
    return cls


def write_reports(result: RunResult, out_dir: Path, console: Console) -> list[Path]:
    load_entry_points("aftershock.reporters")
    written = []
    for cls in REPORTERS.values():
        path = cls().write(result, out_dir, console)
        if path is not None:
            written.append(path)
    return written
