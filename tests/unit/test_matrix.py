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
        if not scenario.matrix:
            (only,) = variants(scenario)
            assert only.scenario == scenario.model_copy(update={"matrix": {}}), path.name
            continue
        # A shipped matrix over releases: each variant is the scenario on its release, nothing else changed.
        assert set(scenario.matrix) == {"target.version"}, f"{path.name}: extend this test to its matrix keys"
        runs = variants(scenario)
        assert [v.scenario.target.version for v in runs] == scenario.matrix["target.version"], path.name
        for v in runs:
            release = scenario.target.model_copy(update={"version": v.scenario.target.version})
            assert v.scenario.model_copy(update={"matrix_expect": []}) == scenario.model_copy(
                update={"matrix": {}, "matrix_expect": [], "target": release, "expect": v.scenario.expect}), path.name


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


VERSIONED = BASE + """\
expect: {lost: 0, unexpected: 0}
matrix:
  target.version: [3.9.1, 4.1.1]
  producer.acks: [1, all]
matrix_expect:
  - when: {producer.acks: 1}
    expect: {lost: {min: 1}}
    why: acks=1 acknowledges before the followers have the write
  - when: {target.version: 4.1.1, producer.acks: 1}
    expect: {lost: {min: 0, max: 5}}
    why: eligible leader replicas narrow the window
"""


def test_a_variant_carries_its_own_expectations_over_the_scenarios_later_ones_winning() -> None:
    runs = {v.label: v for v in variants(parse_scenario(VERSIONED, "m.yaml"))}
    assert list(runs) == ["version=3.9.1, acks=1", "version=3.9.1, acks=all", "version=4.1.1, acks=1",
                          "version=4.1.1, acks=all"]
    expect = {label: v.scenario.model_dump(mode="json")["expect"] for label, v in runs.items()}
    assert expect["version=3.9.1, acks=all"] == expect["version=4.1.1, acks=all"] == {"lost": 0.0, "unexpected": 0.0}
    assert expect["version=3.9.1, acks=1"] == {"lost": {"min": 1.0, "max": None}, "unexpected": 0.0}
    assert expect["version=4.1.1, acks=1"] == {"lost": {"min": 0.0, "max": 5.0}, "unexpected": 0.0}
    assert runs["version=3.9.1, acks=all"].why == ""
    assert runs["version=4.1.1, acks=1"].why == ("acks=1 acknowledges before the followers have the write;"
                                                 " eligible leader replicas narrow the window")
    assert all(v.scenario.matrix_expect == [] for v in runs.values())


@pytest.mark.parametrize("change,says", [
    ("{producer.acks: 0}", "producer.acks=0 is not among the matrix's values for it (1, all)"),
    ("{producer.linger: 5ms}", "producer.linger is not a matrix setting (the matrix has target.version,"
                               " producer.acks)"),
    ("{target.version: 4.4.0}", "target.version=4.4.0 is not among the matrix's values for it (3.9.1, 4.1.1)"),
])
def test_a_variant_expectation_names_settings_and_values_the_matrix_has(change: str, says: str) -> None:
    text = VERSIONED.replace("  - when: {producer.acks: 1}\n", f"  - when: {change}\n")
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(text, "m.yaml")
    assert "m.yaml:14:" in str(refused.value) and says in str(refused.value), str(refused.value)


def test_a_variant_expectation_is_checked_like_expect_at_its_line() -> None:
    text = VERSIONED.replace("    expect: {lost: {min: 1}}\n", "    expect: {lost: {max: -1}}\n")
    with pytest.raises(ScenarioError, match=r"m.yaml:15:.*max -1 can never pass: lost is a whole number from 0"):
        parse_scenario(text, "m.yaml")
    with pytest.raises(ScenarioError, match=r"m.yaml:15:.*unknown figure\(s\) lsot"):
        parse_scenario(VERSIONED.replace("    expect: {lost: {min: 1}}\n", "    expect: {lsot: 1}\n"), "m.yaml")


def test_the_comparison_and_junit_are_keyed_by_variant_with_its_expectations(tmp_path: Path) -> None:
    from junitparser import JUnitXml

    from harness.campaign import comparison, write_comparison
    from harness.judge import Verdict
    from harness.report.junit import write_junit
    from harness.results import RunResult

    done = [(v, RunResult(scenario="t", description="", run_id=f"as-{n}", seed=9, out_dir=str(tmp_path / v.slug),
                          started="", duration_s=1.0, verdict=Verdict("pass", []), metrics={"lost": 0},
                          variant=v.label, variant_why=v.why))
            for n, v in enumerate(variants(parse_scenario(VERSIONED, "m.yaml")))]
    rows = {row["variant"]: row for row in comparison(done)["variants"]}
    assert rows["version=4.1.1, acks=1"]["settings"] == {"target.version": "4.1.1", "producer.acks": 1}
    assert rows["version=4.1.1, acks=1"]["expect"]["lost"] == {"min": 0.0, "max": 5.0}
    assert "eligible leader replicas narrow the window" in rows["version=4.1.1, acks=1"]["why"]
    _, page = write_comparison(comparison(done), tmp_path)
    assert "eligible leader replicas narrow the window" in page.read_text()
    cases = list(next(iter(JUnitXml.fromfile(str(write_junit([r for _, r in done], tmp_path / "j.xml"))))))
    assert [c.name for c in cases] == ["t[version=3.9.1, acks=1]", "t[version=3.9.1, acks=all]",
                                       "t[version=4.1.1, acks=1]", "t[version=4.1.1, acks=all]"]
    props = {p.get("name"): p.get("value") for p in cases[2]._elem.iter("property")}
    assert props["variant"] == "version=4.1.1, acks=1" and "narrow the window" in props["variant.why"]
