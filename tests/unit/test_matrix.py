"""Matrix expansion and repeat seeding, from scenario text."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import load_scenario
from harness.scenario.loader import parse_scenario
from harness.scenario.matrix import derive_seed, variants

BASE = """\
name: t
seed: 9
target:
  kind: kafka
  nodes: 3
  topic: {replication_factor: 3}
producer: {acks: all}
load: {users: 2, rate: 100, duration: 30s}
"""


def test_every_combination_in_the_order_written() -> None:
    scenario = parse_scenario(BASE + """\
matrix:
  producer.acks: [1, all]
  target.broker_config.min.insync.replicas: [1, 2]
""", "m.yaml")
    runs = variants(scenario)
    assert [v.label for v in runs] == [
        "acks=1, min.insync.replicas=1", "acks=1, min.insync.replicas=2",
        "acks=all, min.insync.replicas=1", "acks=all, min.insync.replicas=2"]
    assert [v.scenario.producer.acks for v in runs] == [1, 1, "all", "all"]
    assert runs[1].scenario.target.broker_config == {"min.insync.replicas": 2}
    assert runs[1].slug == "acks-1_min.insync.replicas-2"
    assert all(v.scenario.matrix == {} and v.scenario.seed == 9 for v in runs)


def test_an_impossible_variant_is_refused_at_the_matrix() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(BASE + "matrix:\n  target.broker_config.min.insync.replicas: [2, 4]\n", "m.yaml")
    message = str(info.value)
    assert "m.yaml:10:3:" in message and "min.insync.replicas=4" in message and "exceeds replication_factor" in message


def test_an_unknown_setting_is_refused_with_the_known_ones() -> None:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(BASE + "matrix:\n  producer.akcs: [1]\n", "m.yaml")
    assert "m.yaml:10:3:" in str(info.value) and "no setting 'akcs'" in str(info.value) and "acks" in str(info.value)


def test_repeat_derives_seeds_from_the_scenario_seed() -> None:
    scenario = parse_scenario(BASE, "m.yaml")
    runs = variants(scenario, repeat=3)
    seeds = [v.scenario.seed for v in runs]
    assert seeds[0] == 9 and len(set(seeds)) == 3
    assert seeds == [derive_seed(9, n) for n in range(3)] == [v.scenario.seed for v in variants(scenario, repeat=3)]
    assert [v.slug for v in runs] == ["run", "run2", "run3"]


def test_shipped_scenarios_survive_the_round_trip_a_variant_takes(tmp_path: Path) -> None:
    for path in sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        (only,) = variants(scenario)
        assert only.scenario == scenario.model_copy(update={"matrix": {}}), path.name


def test_comparison_gives_pass_rates_and_figures_per_variant(tmp_path: Path) -> None:
    from harness.campaign import comparison, write_comparison
    from harness.judge import Verdict
    from harness.results import RunResult

    scenario = parse_scenario(BASE + "matrix:\n  producer.acks: [1, all]\n", "m.yaml")
    runs = variants(scenario, repeat=2)
    done = []
    for n, variant in enumerate(runs):
        lost = 3 if variant.settings["producer.acks"] == 1 and n == 0 else 0
        done.append((variant, RunResult(
            scenario="t", description="", run_id=f"as-{n}", seed=variant.scenario.seed,
            out_dir=str(tmp_path / variant.slug), started="", duration_s=1.0,
            verdict=Verdict("fail" if lost else "pass", []), metrics={"lost": lost, "acknowledged": 100})))
    data = comparison(done)
    rows = {row["variant"]: row for row in data["variants"]}
    assert rows["acks=1"]["passed"] == 1 and rows["acks=1"]["pass_rate"] == 0.5
    assert rows["acks=1"]["figures"]["lost"] == [3, 0]
    assert rows["acks=all"]["pass_rate"] == 1.0 and rows["acks=all"]["seeds"] == [9, derive_seed(9, 1)]
    json_path, html_path = write_comparison(data, tmp_path)
    assert "acks=all" in json_path.read_text()
    page = html_path.read_text()
    assert "1/2" in page and "acks-1_run2/report.html" in page
