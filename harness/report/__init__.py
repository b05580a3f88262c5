"""Reporters, registered by name; each renders a RunResult into the run directory or the console."""

from __future__ import annotations

from harness.report import console, html_report, json_report  # noqa: F401  (built-in reporters register on import)
from harness.report.base import REPORTERS, Reporter, register_reporter, write_reports

__all__ = ["REPORTERS", "Reporter", "register_reporter", "write_reports"]
