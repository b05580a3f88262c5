"""Suite-wide: the repository on sys.path, and each failure and each slow test told as it ends.

CI stops the suite at its time limit, and pytest prints failures and durations only at the end:
a suite stopped there would say neither what failed nor where the time went."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


class AsItEnds:
    """A line per failure (its first and last `E` lines) and per slow phase (setup, call or teardown), at once."""

    def __init__(self, reporter: pytest.TerminalReporter, slow_s: float) -> None:
        self.reporter, self.slow_s = reporter, slow_s

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.failed:
            lines = str(report.longrepr).strip().splitlines() if report.longrepr else [""]
            told = [line for line in lines if line.startswith("E ")] or lines[-1:]
            # the first E line says what failed, the last what it was (an assert's message may be a log tail)
            said = (f"FAILED {report.nodeid} ({report.when}, {report.duration:.1f}s): {told[0][:300]}"
                    + (f" ... {told[-1].strip()[:300]}" if len(told) > 1 else ""))
        elif report.duration >= self.slow_s:
            said = f"slow {report.duration:.1f}s {report.when} {report.nodeid}"
        else:
            return
        self.reporter.write_line("")
        self.reporter.write_line(said)


@pytest.hookimpl(trylast=True)   # after the terminal reporter is registered
def pytest_configure(config: pytest.Config) -> None:
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        slow_s = float(os.environ.get("AFTERSHOCK_SLOW_TEST_S", "30"))
        config.pluginmanager.register(AsItEnds(reporter, slow_s), "aftershock-as-it-ends")
