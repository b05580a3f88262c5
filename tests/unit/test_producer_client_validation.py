"""producer.client: which Kafka client the producers run, refused where it cannot apply."""

from __future__ import annotations

import pytest

from harness.errors import ScenarioError
from harness.scenario.loader import parse_scenario
from harness.scenario.matrix import variants
from harness.services.load import user_kind

KAFKA = "name: t\ntarget: {kind: kafka}\n"


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    return str(info.value)


def test_kafka_python_is_the_default_client_and_the_kafka_user() -> None:
    scenario = parse_scenario(KAFKA, "s.yaml")
    assert scenario.producer.client == "kafka-python"
    assert user_kind(scenario, "kafka") == "kafka"


def test_confluent_kafka_selects_its_registered_user() -> None:
    scenario = parse_scenario(KAFKA + "producer: {client: confluent-kafka, acks: all}\n", "s.yaml")
    assert user_kind(scenario, "kafka") == "confluent-kafka"   # its USERS entry: test_confluent_producer


def test_unknown_client_names_the_known_ones() -> None:
    message = error_of(KAFKA + "producer: {client: librdkafka}\n")
    assert "s.yaml:3:12: producer.client" in message and "'kafka-python' or 'confluent-kafka'" in message


def test_a_kafka_client_is_refused_for_rabbitmq_where_it_is_written() -> None:
    message = error_of("name: t\ntarget: {kind: rabbitmq}\nproducer: {confirms: true, client: confluent-kafka}\n")
    assert "s.yaml:3:" in message and "producer.client" in message and "RabbitMQ producers use pika" in message


def test_a_client_beside_an_outbox_is_refused_since_the_relay_publishes() -> None:
    message = error_of(KAFKA + "producer:\n  outbox: {store: sqlite}\n  client: confluent-kafka\n")
    assert "s.yaml:5:3: producer.client" in message and "the relay publishes" in message


def test_idempotence_limits_that_both_clients_enforce_are_refused_before_the_run() -> None:
    message = error_of(KAFKA + "producer: {enable_idempotence: true, max_in_flight: 6}\n")
    assert "producer.max_in_flight" in message and "at most 5" in message
    message = error_of(KAFKA + "producer: {enable_idempotence: true, retries: 0}\n")
    assert "producer.retries" in message and "needs retries" in message


def test_a_matrix_can_compare_the_clients() -> None:
    scenario = parse_scenario(KAFKA + "matrix: {producer.client: [kafka-python, confluent-kafka]}\n", "s.yaml")

    assert [variant.scenario.producer.client for variant in variants(scenario)] == ["kafka-python", "confluent-kafka"]
