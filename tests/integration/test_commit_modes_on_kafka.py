"""Issue 16 points 2 and 5 on a real cluster: which commit modes lose messages when consumers are
killed mid-batch. Committing before processing loses (and never redelivers); auto-commit on
confluent-kafka loses too (librdkafka commits what consume() handed over, processed or not); on
kafka-python it does not (it commits in poll() what earlier polls returned). Where messages are
lost, the drain ends because the broker holds nothing more for the consumers, not at its timeout:
it never waits for what was committed and never processed."""

from __future__ import annotations

import shutil
import warnings
from pathlib import Path

import pytest

from harness.scenario.loader import parse_scenario
from tests.integration.conftest import ROOT, run_scenario, verdict_report

pytestmark = pytest.mark.usefixtures("kafka_available")

# scenario: (loses, redelivers: None where either may happen)
MODES = {
    "kafka-commit-before-process-crash": (True, False),
    "kafka-auto-commit-confluent-crash": (True, None),
    "kafka-auto-commit-kafka-python-crash": (False, True),
}


# Auto-commit on confluent-kafka loses only when a kill lands after librdkafka committed offsets it had
# handed over and the service had not processed yet: CI at 6c2bd51 once lost nothing (3 kills, 0 lost;
# 188 lost in the run before). Up to this many seeded runs (seed, seed + 1, ...), each one said.
ATTEMPTS = {"kafka-auto-commit-confluent-crash": 3}


@pytest.mark.parametrize("name", list(MODES))
def test_each_commit_mode_loses_or_redelivers_as_its_client_commits(tmp_path: Path, name: str) -> None:
    out, path = tmp_path / "run", ROOT / "scenarios" / f"{name}.yaml"
    attempts, seed = ATTEMPTS.get(name, 1), parse_scenario(path.read_text(), str(path)).seed
    for attempt in range(1, attempts + 1):
        code, results = run_scenario(path, out, extra=[] if attempt == 1 else ["--seed", str(seed + attempt - 1)])
        lost_nothing = results["verdict"] == "fail" and results["metrics"].get("lost") == 0
        if not lost_nothing or attempt == attempts:
            break
        warnings.warn(f"{name}: attempt {attempt} of {attempts} lost nothing; trying the next seed:"
                      f" {verdict_report(results, code, out)}", stacklevel=1)
        shutil.rmtree(out)
    assert results["verdict"] == "pass" and code == 0, verdict_report(results, code, out)
    loses, redelivers = MODES[name]
    metrics = results["metrics"]
    assert (metrics["lost"] >= 1) is loses and metrics["unexpected"] == 0, metrics
    if redelivers is not None:
        assert (metrics["redeliveries"] >= 1) is redelivers, metrics
    assert all(f["error"] is None for f in results["faults"]) and len(results["faults"]) == 3
    drain = [line for line in (out / "harness.log").read_text().splitlines() if "drain" in line]
    if loses:
        assert any("drain stopped: the broker holds nothing more for the consumers" in line for line in drain), drain
    else:
        assert any("drained: every acknowledged message delivered" in line for line in drain), drain
