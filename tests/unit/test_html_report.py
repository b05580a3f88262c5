"""report.html and the run index from a synthetic result: self-contained, plots present, anomalies
placed in their fault windows, and regenerated identically from results.json."""

from __future__ import annotations

import json
import re
from pathlib import Path

from harness.judge import Expectation, judge
from harness.ledger.journal import FaultRecord
from harness.report.html_report import fault_window_of, render
from harness.report.index import write_index
from harness.results import RunResult

S = 1_000_000_000
T0 = 1_700_000_000 * S


def synthetic(out_dir: Path) -> RunResult:
    faults = [FaultRecord(0, "kill", "leader(orders, 0)", 5.0, resolved=["kafka-2"], started_s=5.0, healed_s=9.0)]
    rates = [{"second": s, "acked": 100 if not 5 <= s < 8 else 0, "delivered": 95} for s in range(20)]
    latency = [{"second": s, "produce_p50_ms": 3.0, "produce_p99_ms": 9.0 + s, "e2e_p50_ms": 5.0,
                "e2e_p99_ms": 20.0} for s in range(20)]
    lost = [{"id": 42, "producer": 1, "seq": 7, "partition": 0, "offset": 1234, "sent_ns": T0 + 6 * S,
             "acked_ns": T0 + 6 * S + 5_000_000}]
    metrics = {"attempted": 2000, "acknowledged": 1990, "delivered": 1989, "lost": 1, "duplicated": 0}
    return RunResult(
        scenario="kafka-x", description="kills <the> leader", run_id="as-1", seed=5, out_dir=str(out_dir),
        started="2026-11-25T16:00:00+00:00", duration_s=80.0,
        verdict=judge([Expectation("lost", exact=0), Expectation("duplicated", exact=0)], metrics),
        metrics=metrics, faults=faults, schedule={"seed": 5},
        samples={"timeseries.rates": rates, "timeseries.latency": latency, "delivery.lost": lost,
                 "lag.lag": [{"second": s, "lag": 10} for s in range(20)],
                 "recovery.recovery": [{"fault": 0, "produce_ms": 812.0, "consume_ms": 900.0}]},
        versions={"kafka": "3.9.1"}, load_start_ns=T0, environment={"python": "3.11.7", "cpus": "2"})


def test_the_report_is_self_contained_with_plots_expectations_and_explained_anomalies(tmp_path: Path) -> None:
    (tmp_path / "scenario.yaml").write_text("name: kafka-x\n")
    page = render(synthetic(tmp_path), tmp_path)
    assert page.count("<svg") == 3                     # throughput, latency, lag
    assert not re.search(r"(src|href)=['\"]https?:", page)   # nothing fetched from anywhere
    assert "<script" not in page
    assert "verdict fail" in page and "<td class='ok-NO'>NO</td>" in page
    assert "kills &lt;the&gt; leader" in page           # escaped
    # the lost message, 6 s after the load started, fell inside the kill (5 s to 9 s)
    lost_row = re.search(r"<tr><td[^>]*>42</td>.*?</tr>", page).group(0)
    assert "kill leader(orders, 0)" in lost_row and ">6.0<" in lost_row
    assert "812.0" in page and "kafka-2" in page and "version kafka" in page and "name: kafka-x" in page


def test_report_regenerates_identically_from_results_json(tmp_path: Path) -> None:
    result = synthetic(tmp_path)
    again = RunResult.from_json(json.loads(json.dumps(result.as_json(), default=str)))
    assert render(again, tmp_path) == render(result, tmp_path)


def test_fault_windows() -> None:
    faults = [FaultRecord(0, "pause", "controller", 1.0, started_s=1.0, healed_s=3.0),
              FaultRecord(1, "latency", "client->any", 2.0, started_s=2.0)]
    assert fault_window_of(0.5, faults) == "none"
    assert fault_window_of(2.5, faults) == "pause controller, latency client->any"
    assert fault_window_of(9.0, faults) == "latency client->any"   # never healed: in force to the end


def test_index_lists_every_run_newest_first(tmp_path: Path) -> None:
    for name, started, verdict in (("a", "2026-11-25T10:00", "pass"), ("b", "2026-11-25T11:00", "fail")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(json.dumps(
            {"scenario": f"s-{name}", "started": started, "verdict": verdict, "counts": {"lost": 0}}))
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "results.json").write_text("{")
    page = write_index(tmp_path).read_text()
    assert page.index("s-b") < page.index("s-a") and "b/report.html" in page and "2 run(s)" in page


def test_each_faults_effect_on_the_cluster_and_the_schedules_warnings_are_in_the_fault_section(
        tmp_path: Path) -> None:
    result = synthetic(tmp_path)
    result.faults.append(FaultRecord(1, "pause", "controller", 12.0, resolved=["kafka-1"], started_s=12.0,
                                     healed_s=14.0))
    result.faults.append(FaultRecord(2, "latency", "client->any", 15.0, started_s=15.0, healed_s=16.0))
    result.metrics["faults_without_effect"] = 1
    result.samples["fault_effects.effects"] = [
        {"index": 0, "led": {"partition:orders/0": "led by kafka-3 from +7.0s"}, "observed": True, "required": True},
        {"index": 1, "led": {"controller": "stayed with kafka-1 until the heal"}, "observed": False, "required": True}]
    result.advice = ["s.yaml:9:40: faults.1.heal_after: pause controller heals 2s after it strikes, but ..."]
    page = render(result, tmp_path)
    faults = page[page.index("<h2>Faults</h2>"):]
    assert "effect on the cluster" in faults
    assert "<td>orders/0 led by kafka-3 from +7.0s</td>" in faults
    assert "<td>NO EFFECT: controller stayed with kafka-1 until the heal</td>" in faults
    latency_row = re.search(r"<tr><td>15s</td>.*?</tr>", faults).group(0)
    assert "<td></td>" in latency_row                     # a link fault moves no leadership
    assert "<li class='warn'>s.yaml:9:40: faults.1.heal_after: pause controller" in faults
    del result.metrics["faults_without_effect"]           # no record of the cluster: unknown, said so
    result.samples["fault_effects.effects"] = []
    assert "unknown: no record of the cluster" in render(result, tmp_path)


def test_the_leadership_timeline_is_drawn_beside_the_throughput(tmp_path: Path) -> None:
    result = synthetic(tmp_path)
    result.samples["fault_effects.leadership"] = [
        {"subject": "controller", "at_s": -2.0, "attribute": "leader", "value": "kafka-2"},
        {"subject": "partition:orders/0", "at_s": -2.0, "attribute": "leader", "value": "kafka-2"},
        {"subject": "partition:orders/0", "at_s": -2.0, "attribute": "isr", "value": "kafka-1;kafka-2;kafka-3"},
        {"subject": "controller", "at_s": 8.0, "attribute": "leader", "value": "kafka-1"},
        {"subject": "partition:orders/0", "at_s": 17.0, "attribute": "leader", "value": "kafka-3"},
        {"subject": "partition:orders/0", "at_s": 17.0, "attribute": "isr", "value": "kafka-1;kafka-3"}]
    page = render(result, tmp_path)
    assert page.count("<svg") == 4
    over_time = page[page.index("<h2>Over time</h2>"):page.index("<h2>Faults</h2>")]
    assert over_time.index("Throughput") < over_time.index("Leadership and in-sync replicas")
    again = RunResult.from_json(json.loads(json.dumps(result.as_json(), default=str)))
    assert render(again, tmp_path) == page   # drawn from results.json alone
