"""The transactional outbox on a real cluster: the real relay process, killed by real faults."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, run_scenario, survivors

pytestmark = pytest.mark.usefixtures("kafka_available")


def test_a_killed_relay_republishes_and_loses_no_committed_row(tmp_path: Path) -> None:
    run = tmp_path / "run"
    code, results = run_scenario(ROOT / "scenarios" / "kafka-outbox-relay-kill.yaml", run)
    metrics = results["metrics"]
    assert results["verdict"] == "pass", (results["expectations"], results["error"])
    assert code == 0
    kills = [f for f in results["faults"] if f["action"] == "kill"]
    assert len(kills) == 3 and all(f["resolved"] == ["relay"] and f["healed_s"] for f in kills)
    # every committed row was published, and the producing service's own table agrees
    assert metrics["outbox_committed"] == metrics["outbox_published"] == metrics["acknowledged"] > 0
    with sqlite3.connect(run / "producer" / "outbox.db") as db:
        total, sent, orders = db.execute(
            "SELECT count(*), count(sent_ns), (SELECT count(*) FROM orders) FROM outbox").fetchone()
    assert total == sent == orders == metrics["outbox_committed"]
    # one ledger per relay incarnation: the first start and three restarts
    assert len(list((run / "ledger").glob("sends-relay-*.csv"))) == 4
    assert survivors(results["run_id"]) == []
