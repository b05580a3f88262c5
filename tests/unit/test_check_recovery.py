"""Recovery time: from each heal in the fault journal to the first ack and first delivery after it."""

from __future__ import annotations

import json
from pathlib import Path

from harness.check.history import History
from harness.check.recovery import RecoveryChecker

MS = 1_000_000


def test_a_heal_with_nothing_served_after_it_has_no_recovery(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "sends-0.csv").write_text(f"A,1,{1 * MS},,,\nK,1,{12 * MS},0,0,\n")
    (ledger / "deliveries-0.csv").write_text(f"1,0,0,{15 * MS},1,0\n")
    heals = [(0, 10 * MS), (1, 20 * MS)]
    (tmp_path / "faults.jsonl").write_text("".join(
        json.dumps({"event": "heal", "index": i, "action": "kill", "target": "node(1)", "healed_ns": t}) + "\n"
        for i, t in heals) + '{"torn')
    with History(ledger) as h:
        finding = RecoveryChecker().check(h)
    rows = {r["fault"]: r for r in finding.samples["recovery"]}
    assert (rows[0]["produce_ms"], rows[0]["consume_ms"]) == (2.0, 5.0)
    assert (rows[1]["produce_ms"], rows[1]["consume_ms"]) == (None, None)
    assert finding.metrics == {"max_produce_recovery_ms": 2.0, "max_consume_recovery_ms": 5.0}


def test_recovery_in_milliseconds(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "sends-0.csv").write_text("K,1,3500000000,0,0,\n")
    (ledger / "deliveries-0.csv").write_text("1,0,0,4250000000,1,0\n")
    (tmp_path / "faults.jsonl").write_text(json.dumps(
        {"event": "heal", "index": 0, "action": "partition", "target": "halves", "healed_ns": 1_000_000_000}) + "\n")
    with History(ledger) as h:
        finding = RecoveryChecker().check(h)
    assert finding.metrics == {"max_produce_recovery_ms": 2500.0, "max_consume_recovery_ms": 3250.0}


def test_no_faults_means_no_recovery_figures(tmp_path: Path) -> None:
    (tmp_path / "sends-0.csv").write_text("K,1,10,0,0,\n")
    with History(tmp_path) as h:
        finding = RecoveryChecker().check(h)
    assert finding.metrics == {"max_produce_recovery_ms": None, "max_consume_recovery_ms": None}
