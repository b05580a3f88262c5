"""The benchmarks that need real clusters, in smoke mode (one node, small sizes): they run end to
end against real brokers and report every figure, so `make bench` cannot rot between releases."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT

pytestmark = pytest.mark.usefixtures("kafka_available", "rabbitmq_available")


def test_cluster_benchmarks_run_end_to_end_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "harness.bench", "--smoke", "--only", "cluster-cycle",
                           "kafka-produce", "rabbitmq-publish", "--out", str(out)],
                          cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    results = json.loads(out.read_text())["benchmarks"]
    cycle, produce, publish = results["cluster-cycle"], results["kafka-produce"], results["rabbitmq-publish"]
    assert cycle["error"] is None and produce["error"] is None and publish["error"] is None
    for kind in ("kafka", "rabbitmq"):
        figures = cycle["figures"]
        assert 0 < figures[f"{kind}_up_s"] < 120 and figures[f"{kind}_down_s"] >= 0
        assert figures[f"{kind}_cycle_s"] == pytest.approx(figures[f"{kind}_up_s"] + figures[f"{kind}_down_s"],
                                                           abs=0.02)
    figures = produce["figures"]
    assert figures["tool_acked_per_s"] > 0
    for client in ("kafka_python", "confluent_kafka"):   # every producer client, each measured
        assert figures[f"{client}_acked_per_s"] > 0 and figures[f"{client}_errors"] == 0
        assert figures[f"{client}_ratio"] == pytest.approx(
            figures[f"{client}_acked_per_s"] / figures["tool_acked_per_s"], rel=0.01)
    assert figures["best_ratio"] == max(figures["kafka_python_ratio"], figures["confluent_kafka_ratio"])
    figures = publish["figures"]
    assert figures["reference_confirmed_per_s"] > 0 and figures["aftershock_acked_per_s"] > 0
    assert figures["aftershock_errors"] == 0
    assert figures["ratio"] == pytest.approx(figures["aftershock_acked_per_s"] / figures["reference_confirmed_per_s"],
                                             rel=0.01)
    # smoke never judges
    assert all(goal["met"] is None for goal in cycle["goals"] + produce["goals"] + publish["goals"])


def test_latency_overhead_benchmark_measures_both_paths_in_smoke_mode(tmp_path: Path) -> None:
    out = tmp_path / "results.json"
    done = subprocess.run([sys.executable, "-m", "harness.bench", "--smoke", "--only", "latency-overhead",
                           "--out", str(out)], cwd=ROOT, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    result = json.loads(out.read_text())["benchmarks"]["latency-overhead"]
    assert result["error"] is None
    figures = result["figures"]
    expected = figures["rate_per_s"] * figures["seconds_per_phase"] * figures["rounds"]   # skipped starts included
    for path in ("unrecorded", "recorded"):
        assert 0.5 * expected <= figures[f"{path}_samples"] <= expected
        assert 0.5 * figures["rate_per_s"] <= figures[f"{path}_sent_per_s"] <= 1.1 * figures["rate_per_s"]
        assert 0 < figures[f"{path}_p50_ms"] <= figures[f"{path}_p99_ms"] < 10_000
    for q in ("p50", "p99"):
        assert figures[f"{q}_ratio"] == pytest.approx(figures[f"recorded_{q}_ms"] / figures[f"unrecorded_{q}_ms"],
                                                      rel=0.01)
        assert 0 < figures[f"{q}_ratio_round_min"] <= figures[f"{q}_ratio_round_max"]
    assert all(goal["met"] is None for goal in result["goals"])  # smoke never judges
