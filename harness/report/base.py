"""The reporter interface and its registry: each reporter renders a RunResult into the run directory
or the console; one in another installed package registers through the `aftershock.reporters`
entry point."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rich.console import Console

from harness.plugins import load_entry_points
from harness.results import RunResult


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
