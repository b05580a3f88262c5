"""The console summary's timeline: breaker transitions beside the faults, on a synthetic result."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from harness.judge import Verdict
from harness.ledger.journal import FaultRecord
from harness.report.console import ConsoleReporter, timeline_rows
from harness.results import RunResult


def result(transitions: list[dict]) -> RunResult:
    fault = FaultRecord(0, "timeout", "consumer->inventory", 8.0, started_s=8.01, healed_s=28.02)
    return RunResult(scenario="s", description="", run_id="as-1", seed=1, out_dir="/tmp/x", started="",
                     duration_s=1.0, verdict=Verdict("pass", []), metrics={}, faults=[fault],
                     samples={"breaker.transitions": transitions})


def test_breaker_transitions_are_placed_between_the_fault_and_its_heal() -> None:
    rows = timeline_rows(result([{"at_s": 29.5, "consumer": 1, "old": "half_open", "new": "closed"},
                                 {"at_s": 8.4, "consumer": 1, "old": "closed", "new": "open"}]))
    assert [at for at, _ in rows] == [8.01, 8.4, 28.02, 29.5]
    assert "fault timeout consumer->inventory" in rows[0][1] and rows[1][1] == "consumer-1 breaker closed -> open"


def test_no_breaker_no_timeline(tmp_path: Path) -> None:
    assert timeline_rows(result([])) == []
    out = io.StringIO()
    ConsoleReporter().write(result([]), tmp_path, Console(file=out, width=200))
    assert "timeline: faults" not in out.getvalue() and "verdict: PASS" in out.getvalue()


def test_the_fault_table_says_what_each_leader_fault_did_to_the_cluster(tmp_path: Path) -> None:
    kill = FaultRecord(1, "kill", "leader(orders, 0)", 5.0, resolved=["kafka-2"], started_s=5.0, healed_s=13.0)
    run = result([])
    run.faults.append(kill)
    run.metrics["faults_without_effect"] = 0
    run.samples["fault_effects.effects"] = [{"index": 1, "led": {"partition:orders/0": "led by kafka-3 from +17.2s"},
                                             "observed": True, "required": True}]
    out = io.StringIO()
    ConsoleReporter().write(run, tmp_path, Console(file=out, width=250))
    (row,) = [line for line in out.getvalue().splitlines() if "kafka-2" in line]
    assert "orders/0 led by kafka-3 from +17.2s" in row
