"""The one wait API: bounded, retrying, and saying what it waited for."""

from __future__ import annotations

import pytest

from harness.errors import ClusterError
from harness.wait import wait_until


def test_returns_the_first_truthy_value() -> None:
    values = iter([None, 0, 7])
    assert wait_until(lambda: next(values), what="x", timeout=5, interval=0) == 7


def test_gives_up_at_once_on_a_harness_error_by_default() -> None:
    calls = []

    def probe() -> None:
        calls.append(1)
        raise ClusterError("node died")

    with pytest.raises(ClusterError, match="node died"):
        wait_until(probe, what="x", timeout=5, interval=0)
    assert len(calls) == 1


def test_can_retry_harness_errors_when_asked() -> None:
    attempts = iter([ClusterError("election"), ClusterError("election"), 3])

    def probe() -> int:
        value = next(attempts)
        if isinstance(value, Exception):
            raise value
        return value

    assert wait_until(probe, what="x", timeout=5, interval=0, give_up_on=()) == 3


def test_timeout_names_what_it_waited_for_and_the_last_error() -> None:
    with pytest.raises(ClusterError, match=r"timed out after 0.2s waiting for the moon \(last: ValueError"):
        wait_until(lambda: int("x"), what="the moon", timeout=0.2, interval=0.05)
