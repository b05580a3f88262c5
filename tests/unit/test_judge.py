"""Judge: expectations over metrics; a violated one fails, an unknown one errors, never passes."""

from __future__ import annotations

import pytest

from harness.judge import Expectation, ExpectationResult, judge


@pytest.mark.parametrize(
    ("expectation", "text"),
    [
        (Expectation("lost", exact=0), "0"),
        (Expectation("lost", min=1), ">= 1"),
        (Expectation("p99", max=500), "<= 500"),
        (Expectation("p99", max=2.5), "<= 2.5"),
        (Expectation("gap", min=1, max=5), "1..5"),
        (Expectation("gap", min=1.0, max=5.0), "1..5"),
        (Expectation("gap"), "any"),
    ],
)
def test_expectation_describes_its_bound(expectation: Expectation, text: str) -> None:
    assert expectation.describe() == text


def test_all_expectations_met_is_a_pass() -> None:
    verdict = judge(
        [Expectation("lost", exact=0), Expectation("p99", max=500), Expectation("gap", min=1, max=5)],
        {"lost": 0, "p99": 500.0, "gap": 1, "unrelated": None},
    )
    assert verdict.verdict == "pass"
    assert [result.ok for result in verdict.expectations] == [True, True, True]


def test_violated_expectation_is_a_fail() -> None:
    verdict = judge([Expectation("lost", exact=0), Expectation("redeliveries", min=1)], {"lost": 3, "redeliveries": 2})
    assert verdict.verdict == "fail"
    assert verdict.expectations[0] == ExpectationResult("lost", "0", 3, False)


@pytest.mark.parametrize("metrics", [{}, {"lost": None}])
def test_missing_or_unknown_metric_is_an_error_not_a_pass(metrics: dict) -> None:
    verdict = judge([Expectation("lost", exact=0)], metrics)
    assert verdict.verdict == "error"
    assert verdict.expectations == [ExpectationResult("lost", "0", None, None)]


def test_fail_beats_unknown() -> None:
    verdict = judge([Expectation("lost", exact=0), Expectation("p99", max=10)], {"lost": None, "p99": 11.0})
    assert verdict.verdict == "fail"
    assert [result.ok for result in verdict.expectations] == [None, False]


def test_range_bounds_are_inclusive() -> None:
    in_range = judge([Expectation("gap", min=1, max=5)], {"gap": 5})
    below = judge([Expectation("gap", min=1, max=5)], {"gap": 0.9})
    assert (in_range.verdict, below.verdict) == ("pass", "fail")


def test_no_expectations_is_a_pass() -> None:
    assert judge([], {"lost": 5}).verdict == "pass"


def test_exact_together_with_a_range_is_rejected() -> None:
    with pytest.raises(ValueError, match="either exact or min/max"):
        Expectation("lost", exact=0, max=1)
