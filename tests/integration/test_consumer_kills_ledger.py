"""Consumers SIGKILLed again and again on a real Kafka cluster: each start writes its own ledger file,
and no message any of them ledgered is lost to a torn row."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.check.history import History
from harness.ledger.schema import start_files
from tests.integration.conftest import run_scenario, verdict_report

pytestmark = pytest.mark.usefixtures("kafka_available")

SCENARIO = """\
name: kafka-consumer-kills-ledger
description: Both consumers SIGKILLed three times each during the load; every start writes its own ledger.
seed: 13
target: {kind: kafka, nodes: 3, broker_config: {min.insync.replicas: 2}}
producer: {acks: all, enable_idempotence: true}
load: {users: 2, rate: 150, duration: 16s}
consumer: {group: orders-svc, instances: 2, processing: {time: 3ms}}   # kills land mid-batch
faults:
  - {at: 3s, action: kill, target: "consumer(1)", heal_after: 1s}
  - {at: 5s, action: kill, target: "consumer(2)", heal_after: 1s}
  - {at: 7s, action: kill, target: "consumer(1)", heal_after: 1s}
  - {at: 9s, action: kill, target: "consumer(2)", heal_after: 1s}
  - {at: 11s, action: kill, target: "consumer(1)", heal_after: 1s}
  - {at: 13s, action: kill, target: "consumer(2)", heal_after: 1s}
drain: {timeout: 60s}
expect: {lost: 0, ledger_rejected_rows: 0}
"""


def complete_ids(path: Path) -> set[int]:
    """The ids of a ledger file's complete rows, parsed without DuckDB."""
    lines = path.read_bytes().split(b"\n")[:-1]   # whatever follows the last newline is torn
    return {int(line.split(b",")[0]) for line in lines}


def test_consumers_killed_repeatedly_lose_no_ledgered_delivery(tmp_path: Path) -> None:
    started = time.monotonic()
    scenario = tmp_path / "kafka-consumer-kills-ledger.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "run"
    code, results = run_scenario(scenario, out)
    metrics = results["metrics"]
    assert results["verdict"] == "pass", verdict_report(results, code, out)
    assert code == 0
    assert [(f["target"], f["error"]) for f in results["faults"]] == [("consumer(1)", None), ("consumer(2)", None)] * 3
    assert metrics["lost"] == 0 and metrics["acknowledged"] > 0
    ledger = out / "ledger"
    for instance in (1, 2):   # the first start, then one file per restart after each kill
        starts = start_files(ledger / f"deliveries-{instance}.csv")
        assert len(starts) == 4, starts
    files = sorted(ledger.glob("deliveries-*.csv"))
    ledgered = set().union(*(complete_ids(path) for path in files))
    with History(ledger) as history:
        found = {row[0] for row in history.sql("SELECT DISTINCT id FROM deliveries")}
    assert found == ledgered
    torn = sum(1 for path in ledger.glob("*.csv") if path.read_bytes()[-1:] not in (b"\n", b""))
    assert metrics["ledger_torn_rows"] == torn and metrics["ledger_rejected_rows"] == 0
    print(f"6 consumer kills, {metrics['acknowledged']} acknowledged, {len(found)} ledgered ids,"
          f" {metrics['redeliveries']} redeliveries, {metrics['ledger_torn_rows']} torn rows,"
          f" {time.monotonic() - started:.1f} s")
