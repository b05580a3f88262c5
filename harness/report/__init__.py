"""Reporters, registered by name; each renders a RunResult into the run directory or the console."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from rich.console import Console

from harness.results import RunResult


class Reporter(Protocol):
    name: str

    def write(self, result: RunResult, out_dir: Path, console: Console) -> Path | None: ...


REPORTERS: dict[str, type[Reporter]] = {}


def register_reporter(cls: type[Reporter]) -> type[Reporter]:
    REPORTERS[cls.name] = cls
    return cls


def write_reports(result: RunResult, out_dir: Path, console: Console) -> list[Path]:
    written = []
    for cls in REPORTERS.values():
        path = cls().write(result, out_dir, console)
        if path is not None:
            written.append(path)
    return written


# Each reporter registers itself on import and needs register_reporter above: hence here, at the end.
from harness.report import console as _console, html_report as _html, json_report as _json  # noqa: E402,F401
