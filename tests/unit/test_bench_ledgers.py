"""The benchmark suite: its synthetic ledgers carry exactly the anomalies they claim (the checker
benchmark's figures are only checked if they do), and the smoke suite runs end to end."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.bench.base import BenchContext, BenchmarkFailed, Goal
from harness.bench.ledgers import LedgerSpec, generate
from harness.bench.measure import measure_in_child
from harness.bench.suite import run_benchmark
from harness.check import check_history, merged_metrics

REPO = Path(__file__).resolve().parents[2]


def rows(ledger_dir: Path, pattern: str) -> list[list[str]]:
    return [line.split(",") for path in sorted(ledger_dir.glob(pattern)) for line in path.read_text().splitlines()]


@pytest.mark.parametrize("spec", [
    LedgerSpec(records=30_000, seed=1, lost=7, duplicated=5, reordered=9),
    LedgerSpec(records=60_001, seed=2, lost=1, duplicated=40, reordered=3, producers=3, partitions=4, consumers=2),
    LedgerSpec.scaled(100_000, seed=9),
], ids=["30k", "60k-few-partitions", "100k-scaled"])
def test_checkers_find_exactly_the_injected_anomalies(tmp_path: Path, spec: LedgerSpec) -> None:
    expected = generate(spec, tmp_path)
    findings = check_history(tmp_path, expected.load_window_ns)
    assert [f.error for f in findings if f.error] == []
    metrics = merged_metrics(findings)
    assert metrics["lost"] == spec.lost
    assert spec.duplicated <= metrics["duplicated"] <= spec.duplicated + 2   # topped up for the exact row count
    assert metrics["duplicated"] == metrics["redeliveries"] == expected.metrics["duplicated"]
    assert metrics["order_violations"] == spec.reordered
    assert metrics["unexpected"] == metrics["log_duplicates"] == metrics["indeterminate"] == 0
    assert metrics["attempted"] == metrics["acknowledged"] == expected.messages
    assert expected.mismatches(metrics) == {}


def test_ledger_has_exactly_the_records_asked_for(tmp_path: Path) -> None:
    spec = LedgerSpec(records=10_001, seed=3, lost=4, duplicated=4, reordered=4)
    expected = generate(spec, tmp_path)
    sends, deliveries = rows(tmp_path, "sends-*.csv"), rows(tmp_path, "deliveries-*.csv")
    assert len(sends) + len(deliveries) == expected.records == 10_001
    assert len(sends) == 2 * expected.messages
    assert {len(row) for row in sends} == {6} and {len(row) for row in deliveries} == {6}


def test_lost_messages_are_acknowledged_at_an_offset_never_delivered(tmp_path: Path) -> None:
    generate(LedgerSpec(records=9_000, seed=4, lost=6, duplicated=0, reordered=0), tmp_path)
    acked = {(row[3], row[4]) for row in rows(tmp_path, "sends-*.csv") if row[0] == "K"}
    delivered = {(row[1], row[2]) for row in rows(tmp_path, "deliveries-*.csv")}
    assert len(acked - delivered) == 6
    assert delivered <= acked


def test_same_seed_writes_the_same_bytes(tmp_path: Path) -> None:
    spec = LedgerSpec.scaled(20_000, seed=5)
    generate(spec, tmp_path / "a")
    generate(spec, tmp_path / "b")
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == sorted(p.name for p in (tmp_path / "b").iterdir())
    assert all((tmp_path / "a" / n).read_bytes() == (tmp_path / "b" / n).read_bytes() for n in names)


def test_more_anomalies_than_messages_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="too many anomalies"):
        generate(LedgerSpec(records=300, seed=1, lost=50, duplicated=50, reordered=10), tmp_path)


def test_goal_is_met_within_its_bounds_and_unknown_without_its_figure() -> None:
    goal = Goal("records_per_s_10m", min=2_000_000)
    assert goal.met({"records_per_s_10m": 2_500_000}) is True
    assert goal.met({"records_per_s_10m": 1_000_000}) is False
    assert goal.met({}) is None
    assert Goal("peak_rss_mb_10m", max=1500).as_json() == {"metric": "peak_rss_mb_10m", "max": 1500}


def test_child_measurement_returns_the_value_and_reports_failures_with_their_cause() -> None:
    measured = measure_in_child(sum, [1, 2, 3])
    assert measured.value == 6
    assert measured.peak_rss_bytes >= measured.baseline_rss_bytes > 0
    with pytest.raises(BenchmarkFailed, match="ValueError: invalid literal"):
        measure_in_child(int, "not a number")
    with pytest.raises(BenchmarkFailed, match="died \\(exit code 3"):
        measure_in_child(os._exit, 3)


def test_smoke_suite_runs_end_to_end_and_writes_results_json(tmp_path: Path) -> None:
    # Only the checker: the broker benchmarks start clusters, which a unit test never does (their
    # smoke runs belong to tests/integration).
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "harness.bench", "--smoke", "--only", "checker", "--out", str(out)],
                          cwd=REPO, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(out.read_text())
    assert results["smoke"] is True
    assert results["command"] == f"python -m harness.bench --smoke --only checker --out {out}"
    assert list(results["benchmarks"]) == ["checker"]
    assert {"cpu_count", "cpu_model", "memory_bytes", "kernel", "python"} <= set(results["machine"])
    assert "commit" in results["git"] and results["date"] and set(results["load_average_1m"]) == {"before", "after"}
    checker = results["benchmarks"]["checker"]
    assert checker["error"] is None
    assert checker["figures"]["records_200k"] == 200_000
    assert checker["figures"]["records_per_s_200k"] > 0
    assert checker["figures"]["peak_rss_mb_200k"] > checker["figures"]["baseline_rss_mb_200k"] > 0
    assert [goal["metric"] for goal in checker["goals"]] == ["records_per_s_10m", "peak_rss_mb_10m",
                                                             "time_ratio_10m_1m"]
    assert checker["goals_met"] is None   # smoke sizes never judge the goals
    assert "checker" in done.stdout


class _FailingBenchmark:
    name = "failing"
    summary = "raises, as a benchmark whose checked figures came out wrong does"
    seed = 1
    goals = (Goal("speed", min=1),)

    def run(self, ctx: BenchContext) -> dict[str, int]:
        raise BenchmarkFailed("lost: reported 3, injected 4")


def test_failed_benchmark_is_recorded_with_its_error_and_its_goals_unjudged() -> None:
    result = run_benchmark(_FailingBenchmark(), smoke=False, log=lambda line: None)
    assert result.error == "BenchmarkFailed: lost: reported 3, injected 4"
    assert result.as_json()["goals"] == [{"metric": "speed", "min": 1, "value": None, "met": None}]
    assert result.goals_met is None
