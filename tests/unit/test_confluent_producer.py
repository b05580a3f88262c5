"""The confluent-kafka producer path without a broker: scenario settings as librdkafka takes
them, and every send answered (ack or error) once the user finishes."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import pytest
from confluent_kafka import Producer

from harness.brokers.kafka.client_settings import RECONNECT_BACKOFF_MAX_MS, librdkafka_settings, producer_settings
from harness.scenario.model import ProducerSpec

PROBE = Path(__file__).with_name("confluent_probe.py")
ROOT = Path(__file__).resolve().parents[2]


def config_of(**producer: object) -> dict:
    return {"producer": ProducerSpec(**producer).model_dump(), "target": {"bootstrap": "127.0.0.1:1,127.0.0.1:2"}}


def test_scenario_settings_map_to_librdkafka_names_and_units() -> None:
    settings = librdkafka_settings(config_of(acks="all", enable_idempotence=True, retries=7, max_in_flight=3,
                                             linger=0.0025, request_timeout="4s",
                                             delivery_timeout="20s"))
    assert settings == {
        "bootstrap.servers": "127.0.0.1:1,127.0.0.1:2", "acks": "all", "enable.idempotence": True,
        "max.in.flight.requests.per.connection": 3, "linger.ms": 2.5, "request.timeout.ms": 4000,
        "delivery.timeout.ms": 20000, "retries": 7, "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
        "partitioner": "murmur2_random",
    }
    assert "retries" not in librdkafka_settings(config_of())   # unset: the client's default


@pytest.mark.parametrize("producer",
                         [{"acks": 0}, {"acks": 1, "retries": 0}, {"acks": "all", "enable_idempotence": True}],
                         ids=["acks0", "acks1-no-retries", "idempotent"])
def test_both_clients_get_the_same_meaning(producer: dict) -> None:
    python, rdkafka = producer_settings(config_of(**producer)), librdkafka_settings(config_of(**producer))
    assert str(python["acks"]) == rdkafka["acks"]
    assert python["enable_idempotence"] == rdkafka["enable.idempotence"]
    assert python["max_in_flight_requests_per_connection"] == rdkafka["max.in.flight.requests.per.connection"]
    assert python["linger_ms"] == rdkafka["linger.ms"]
    assert python["delivery_timeout_ms"] == rdkafka["delivery.timeout.ms"]
    assert python.get("retries") == rdkafka.get("retries")
    assert python["reconnect_backoff_max_ms"] == rdkafka["reconnect.backoff.max.ms"] == 1000


@pytest.mark.parametrize("producer", [{"acks": 0}, {"acks": 1, "retries": 0},
                                      {"acks": "all", "enable_idempotence": True, "max_in_flight": 5, "retries": 3}])
def test_librdkafka_accepts_every_mapped_setting(producer: dict) -> None:
    """librdkafka checks names and values when the client is created (no broker needed)."""
    Producer(librdkafka_settings(config_of(**producer)) | {"log_level": 0})


def _ledger(tmp_path: Path, sends: int, queue_messages: int) -> list[list[str]]:
    path = tmp_path / "sends.csv"
    done = subprocess.run([sys.executable, str(PROBE), str(path), str(sends), str(queue_messages)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-3000:]
    return [row for row in csv.reader(path.open()) if row]


def test_sends_no_broker_answered_are_purged_as_errors_when_the_user_finishes(tmp_path: Path) -> None:
    rows = _ledger(tmp_path, sends=3, queue_messages=100)
    assert [row[0] for row in rows].count("A") == 3
    errors = [row for row in rows if row[0] == "E"]
    assert {row[1] for row in errors} == {row[1] for row in rows if row[0] == "A"}   # each send answered once
    assert all("_PURGE_QUEUE" in row[5] for row in errors)


def test_a_full_local_queue_waits_then_fails_only_the_send_that_found_no_room(tmp_path: Path) -> None:
    rows = _ledger(tmp_path, sends=3, queue_messages=2)
    errors = [row for row in rows if row[0] == "E"]
    assert len([row for row in rows if row[0] == "A"]) == 3 and len(errors) == 3
    assert sum("BufferError" in row[5] for row in errors) == 1      # the third, after MAX_BLOCK_MS
    assert sum("_PURGE_QUEUE" in row[5] for row in errors) == 2     # the two queued, at finish
