"""The confluent-kafka (librdkafka) producer and consumer service end to end on a real 3-broker
KRaft cluster, through the real CLI: nothing acknowledged lost across leader kills, the clients and
the consumers' group protocol (classic, as the broker says) recorded. (Its
settings mapping and the answer to every send at finish are unit-tested without a broker.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, run_scenario, verdict_report

pytestmark = pytest.mark.usefixtures("kafka_available")


def _client_of(results: dict) -> dict:
    return {key: results["versions"].get(key) for key in ("producer", "confluent-kafka", "librdkafka")}


def test_confluent_kafka_acks_all_leader_kill_loses_nothing(tmp_path: Path) -> None:
    code, results = run_scenario(ROOT / "scenarios" / "kafka-leader-kill-acks-all-confluent.yaml", tmp_path / "run")
    assert results["verdict"] == "pass", verdict_report(results, code, tmp_path / "run")
    assert code == 0
    assert results["counts"]["lost"] == 0 and results["counts"]["acknowledged"] >= 20_000
    faults = results["faults"]
    assert [f["action"] for f in faults] == ["kill", "kill"] and all(f["error"] is None for f in faults)
    client = _client_of(results)   # the client that ran is recorded, with its version and librdkafka's
    assert client["producer"] == "confluent-kafka" and client["confluent-kafka"].startswith("2.")
    assert client["librdkafka"].startswith("2.")
    assert results["load_stats"]["client"]["producer"] == "confluent-kafka"
    assert results["versions"]["consumer"].startswith("confluent-kafka 2.")
    assert results["versions"]["group_protocol"] == "classic"
