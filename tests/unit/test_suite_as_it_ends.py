"""The suite names each failure and each slow test when it ends, not only in pytest's final
summary, which a suite stopped at CI's time limit never prints."""

from __future__ import annotations

from pathlib import Path

import pytest

CONFTEST = Path(__file__).resolve().parents[1] / "conftest.py"


def test_a_failure_and_a_slow_test_are_told_before_the_summary(pytester: pytest.Pytester,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSHOCK_SLOW_TEST_S", "0.2")
    pytester.makeconftest(CONFTEST.read_text())
    pytester.makepyfile(test_some="""
        import time

        def test_fails():
            assert 1 + 1 == 3

        def test_slow():
            time.sleep(0.3)

        def test_quick():
            pass
    """)
    out = pytester.runpytest("-q", "-p", "no:cacheprovider").stdout.lines
    summary = next(n for n, line in enumerate(out) if "short test summary" in line or "= FAILURES =" in line)
    told = out[:summary]
    assert any(line.startswith("FAILED test_some.py::test_fails (call, ") and "E       assert" in line
               for line in told), out
    assert any(line.startswith("slow ") and line.endswith(" call test_some.py::test_slow") for line in told), out
    assert not any("test_quick" in line for line in out)
