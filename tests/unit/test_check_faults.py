"""Fault accounting from the fault journal, and the implicit expectation that faults happened."""

from __future__ import annotations

import json
from pathlib import Path

from harness.check.faults import FaultChecker
from harness.check.history import History
from harness.judge import expectations
from harness.scenario.loader import parse_scenario


def test_failed_injections_and_heals_are_counted(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    events = [{"event": "inject", "action": "kill", "target": "node(1)", "started_s": 5.0, "error": None},
              {"event": "heal", "action": "kill", "target": "node(1)", "started_s": 5.0, "error": None},
              {"event": "error", "action": "pause", "target": "controller", "started_s": 9.0,
               "error": "APIError: cannot freeze"},
              {"event": "inject", "action": "partition", "target": "halves", "started_s": 12.0, "error": None},
              {"event": "heal", "action": "partition", "target": "halves", "started_s": 12.0,
               "error": "heal failed: ClusterError: boom"}]
    (tmp_path / "faults.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events) + '{"torn')
    with History(ledger) as h:
        finding = FaultChecker().check(h)
    assert finding.metrics == {"faults_injected": 2, "faults_failed": 2}
    assert [f["action"] for f in finding.samples["failed"]] == ["pause", "partition"]


BASE = "name: t\ntarget: {kind: kafka}\nload: {duration: 30s}\n"


def test_a_scenario_with_faults_expects_all_of_them_to_fire_unless_it_says_otherwise() -> None:
    with_faults = parse_scenario(BASE + "faults:\n  - {at: 5s, action: kill, target: node(1)}\n", "s.yaml")
    assert [(e.name, e.exact) for e in expectations(with_faults)] == [("faults_failed", 0)]
    tolerant = parse_scenario(BASE + "faults:\n  - {at: 5s, action: kill, target: node(1)}\n"
                              "expect: {faults_failed: {max: 1}}\n", "s.yaml")
    assert [(e.name, e.max) for e in expectations(tolerant)] == [("faults_failed", 1)]
    assert expectations(parse_scenario(BASE, "s.yaml")) == []
