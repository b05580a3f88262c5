"""The pytest plugin running real scenarios (a 1-node Kafka, briefly): a pass and a failure
whose message is the expectation table."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.paths import cache_dir

pytestmark = pytest.mark.usefixtures("kafka_available")
INSTALL_CACHE = cache_dir()  # read at import, before pytester moves HOME

TINY = """\
name: {name}
seed: 2
target: {{kind: kafka, nodes: 1, topic: {{partitions: 2, replication_factor: 1}}}}
load: {{users: 1, rate: 50, duration: 5s}}
consumer: {{group: tiny, instances: 1}}
drain: {{timeout: 30s, settle: 1s}}
expect: {expect}
"""


def test_scenarios_run_as_tests_and_fail_with_the_expectation_table(pytester: pytest.Pytester, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    # pytester gives the inner session a HOME of its own: keep the real install cache (jars)
    monkeypatch.setenv("AFTERSHOCK_CACHE", str(INSTALL_CACHE))
    pytester.makefile(".yaml", good=TINY.format(name="tiny-good", expect="{lost: 0}"),
                      bad=TINY.format(name="tiny-bad", expect="{acknowledged: {max: 0}}"))
    out = tmp_path / "runs"
    result = pytester.runpytest_subprocess("-v", "--aftershock-out", str(out), timeout=500)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*bad.yaml::tiny-bad FAILED*", "*good.yaml::tiny-good PASSED*",  # files in name order
                                 "*acknowledged*<= 0*NO*", "*report: *tiny-bad/report.html*"])
    assert json.loads((out / "tiny-good" / "results.json").read_text())["verdict"] == "pass"
