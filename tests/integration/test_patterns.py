"""Consumer fault-tolerance patterns on a real cluster with the real downstream service."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, run_scenario

pytestmark = pytest.mark.usefixtures("kafka_available")


def test_retry_dlq_poison_dead_letters_every_poison_message_once_and_loses_nothing(tmp_path: Path) -> None:
    code, results = run_scenario(ROOT / "scenarios" / "kafka-retry-dlq-poison.yaml", tmp_path / "run")
    metrics = results["metrics"]
    assert results["verdict"] == "pass", (results["expectations"], results["error"])
    assert code == 0
    assert metrics["dead_lettered"] == metrics["poison_sent"] >= 1
    assert metrics["side_effects"] + metrics["dead_lettered"] >= metrics["acknowledged"]
    assert (tmp_path / "run" / "ledger" / "effects-inventory.csv").exists()
