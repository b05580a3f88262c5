"""The torn and rejected ledger rows reach the console summary and report.html, and only when there are some."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from harness.judge import Verdict
from harness.report.console import ConsoleReporter
from harness.report.html_report import render
from harness.results import RunResult


def result(torn: int, rejected: int) -> RunResult:
    return RunResult(scenario="s", description="", run_id="as-1", seed=1, out_dir="/tmp/x", started="",
                     duration_s=1.0, verdict=Verdict("pass", []),
                     metrics={"lost": 0, "ledger_torn_rows": torn, "ledger_rejected_rows": rejected})


def console_text(run: RunResult, tmp_path: Path) -> str:
    out = io.StringIO()
    ConsoleReporter().write(run, tmp_path, Console(file=out, width=200))
    return out.getvalue()


@pytest.mark.parametrize("torn,rejected", [(2, 0), (0, 3)])
def test_damaged_ledgers_are_reported_on_the_console_and_in_the_html(tmp_path: Path, torn: int, rejected: int) -> None:
    run = result(torn, rejected)
    assert f"ledger: {torn} torn last rows" in console_text(run, tmp_path)
    assert f"{rejected} rows that do not parse" in console_text(run, tmp_path)
    assert f"Ledger: {torn} torn last rows" in render(run, tmp_path)


def test_whole_ledgers_add_no_line(tmp_path: Path) -> None:
    run = result(0, 0)
    assert "torn last rows" not in console_text(run, tmp_path) and "torn last rows" not in render(run, tmp_path)
