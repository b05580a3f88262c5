"""Issue 16 points 2 and 5 on a real cluster: which commit modes lose messages when consumers are
killed mid-batch. Committing before processing loses (and never redelivers); auto-commit on
confluent-kafka loses too (librdkafka commits what consume() handed over, processed or not); on
kafka-python it does not (it commits in poll() what earlier polls returned). Where messages are
lost, the drain ends because the broker holds nothing more for the consumers, not at its timeout:
it never waits for what was committed and never processed."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, run_scenario, verdict_report

pytestmark = pytest.mark.usefixtures("kafka_available")

# scenario: (loses, redelivers: None where either may happen)
MODES = {
    "kafka-commit-before-process-crash": (True, False),
    "kafka-auto-commit-confluent-crash": (True, None),
    "kafka-auto-commit-kafka-python-crash": (False, True),
}


@pytest.mark.parametrize("name", list(MODES))
def test_each_commit_mode_loses_or_redelivers_as_its_client_commits(tmp_path: Path, name: str) -> None:
    out = tmp_path / "run"
    code, results = run_scenario(ROOT / "scenarios" / f"{name}.yaml", out)
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
