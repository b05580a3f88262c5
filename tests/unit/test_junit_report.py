"""JUnit XML of synthetic results, read back by a JUnit parser as CI systems do."""

from __future__ import annotations

from pathlib import Path

from junitparser import Error, Failure, JUnitXml

from harness.judge import Expectation, Verdict, judge
from harness.report.junit import expectation_table, write_junit
from harness.results import RunResult


def result(name: str, metrics: dict, expect: list[Expectation], error: str | None = None) -> RunResult:
    verdict = judge(expect, metrics) if error is None else Verdict("error", [])
    return RunResult(scenario=name, description=f"{name} does things", run_id="as-1", seed=7, out_dir=f"/r/{name}",
                     started="2026-11-25T16:00:00+00:00", duration_s=61.25, verdict=verdict, metrics=metrics,
                     versions={"kafka": "3.9.1"}, error=error)


def test_one_case_per_scenario_with_its_expectations_as_assertions(tmp_path: Path) -> None:
    results = [
        result("passes", {"lost": 0, "duplicated": 0},
               [Expectation("lost", exact=0), Expectation("duplicated", exact=0)]),
        result("fails", {"lost": 3}, [Expectation("lost", exact=0)]),
        result("errs", {}, [], error="Kafka did not start: see nodes/kafka-1/node.log"),
    ]
    path = write_junit(results, tmp_path / "junit.xml")
    xml = JUnitXml.fromfile(str(path))
    suite = next(iter(xml))
    assert (suite.tests, suite.failures, suite.errors) == (3, 1, 1)
    cases = {case.name: case for case in suite}
    assert cases["passes"].is_passed and cases["passes"].classname == "aftershock.passes"
    (failure,) = cases["fails"].result
    assert isinstance(failure, Failure) and "lost" in failure.message
    assert failure.text.splitlines()[1].split() == ["lost", "0", "3", "NO"]
    (error,) = cases["errs"].result
    assert isinstance(error, Error) and "Kafka did not start" in error.message
    assert cases["passes"].system_out.startswith("passes does things")
    assert path.read_text().count('assertions="2"') == 1


def test_expectation_table_marks_unknown_figures() -> None:
    table = expectation_table(result("u", {}, [Expectation("lost", exact=0)]))
    assert table.splitlines()[1].split() == ["lost", "0", "-", "unknown"]


def test_the_xml_validates_against_the_junit_schema(tmp_path: Path) -> None:
    from lxml import etree

    schema = etree.XMLSchema(etree.parse(str(Path(__file__).parents[1] / "data" / "junit.xsd")))
    results = [result("passes", {"lost": 0}, [Expectation("lost", exact=0)]),
               result("fails", {"lost": 3}, [Expectation("lost", exact=0)]),
               result("errs", {}, [], error="boom")]
    document = etree.parse(str(write_junit(results, tmp_path / "junit.xml")))
    assert schema.validate(document), schema.error_log
    broken = etree.fromstring(b"<testsuites><testsuite name='x'><testcase name='y'/></testsuite></testsuites>")
    assert not schema.validate(broken)  # no tests= count, no classname: the schema does check
