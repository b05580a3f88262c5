"""The pytest plugin's collection, with pytester (no cluster: nothing here runs a scenario)."""

from __future__ import annotations

import pytest

SCENARIO = """\
name: {name}
target: {{kind: {kind}, nodes: 1{extra}}}
load: {{users: 1, rate: 10, duration: 5s}}
"""


def test_scenario_files_become_items_marked_by_kind(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", **{"k1": SCENARIO.format(name="k-one", kind="kafka",
                                                        extra=", topic: {replication_factor: 1}"),
                                  "r1": SCENARIO.format(name="r-one", kind="rabbitmq", extra=""),
                                  "compose": "services: {broker: {image: x}}\n"})
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(["k1.yaml::k-one", "r1.yaml::r-one", "*2 tests collected*"])
    assert "compose" not in result.stdout.str()
    selected = pytester.runpytest_subprocess("--collect-only", "-q", "-m", "rabbitmq")
    selected.stdout.fnmatch_lines(["r1.yaml::r-one", "*1/2 tests collected (1 deselected)*"])
    by_name = pytester.runpytest_subprocess("--collect-only", "-q", "-k", "k-one")
    by_name.stdout.fnmatch_lines(["k1.yaml::k-one", "*1/2 tests collected (1 deselected)*"])


def test_a_matrix_gives_one_item_per_variant(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", m=SCENARIO.format(name="m", kind="kafka", extra=", topic: {replication_factor: 1}")
                      + "matrix: {producer.acks: [1, all]}\n")
    result = pytester.runpytest_subprocess("--collect-only", "-q")
    result.stdout.fnmatch_lines(["m.yaml::m[[]acks=1[]]", "m.yaml::m[[]acks=all[]]"])


def test_an_invalid_scenario_fails_collection_at_its_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", bad="name: bad\ntarget: {kind: kafka}\nload: {rate: fast}\n")
    result = pytester.runpytest_subprocess("-q")
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*bad.yaml:3:*load.rate*"])


def test_ci_examples_are_valid_yaml_running_the_plugin_and_publishing_junit() -> None:
    from pathlib import Path

    from ruamel.yaml import YAML

    docs = Path(__file__).parents[2] / "docs" / "ci"
    github = YAML(typ="safe").load((docs / "github-actions.yml").read_text())
    steps = github["jobs"]["scenarios"]["steps"]
    assert any("pytest scenarios/" in step.get("run", "") and "--junitxml" in step["run"] for step in steps)
    gitlab = YAML(typ="safe").load((docs / "gitlab-ci.yml").read_text())["resilience"]
    assert gitlab["artifacts"]["reports"]["junit"] == "reports/junit.xml"
    assert any("pytest scenarios/" in line for line in gitlab["script"])
