"""producer.properties and consumer.properties: checked against the client library that will run
them (kafka-python's own defaults, librdkafka's own configuration parser), then given to it."""

from __future__ import annotations

import json

import pytest

from harness.brokers.kafka.client_properties import check_properties, kafka_python_settings
from harness.brokers.kafka.client_settings import librdkafka_settings, producer_settings
from harness.errors import ScenarioError
from harness.scenario.loader import parse_scenario
from harness.scenario.located import LocatedValueError

BASE = "name: t\ntarget: {kind: kafka}\nload: {users: 1, rate: 10, duration: 5s}\n"


def _refused(client: str, role: str, properties: dict[str, object]) -> str:
    with pytest.raises(LocatedValueError) as caught:
        check_properties(client, role, properties, (role, "properties"))
    assert caught.value.loc == (role, "properties", next(iter(properties)))
    return str(caught.value)


@pytest.mark.parametrize("client", ["kafka-python", "confluent-kafka"])
@pytest.mark.parametrize(("role", "properties"), [
    ("producer", {"compression.type": "gzip", "batch.size": 32768}),
    ("producer", {"client.id": "billing", "retry.backoff.ms": "200"}),
    ("consumer", {"max.poll.records": 50, "fetch.min.bytes": 1, "max.partition.fetch.bytes": 65536}),
    ("consumer", {"client.id": "billing-svc", "check.crcs": True}),
])
def test_properties_both_clients_know_pass(client: str, role: str, properties: dict[str, object]) -> None:
    check_properties(client, role, properties, (role, "properties"))


def test_kafka_python_names_the_property_a_misspelling_meant() -> None:
    message = _refused("kafka-python", "producer", {"compresion.type": "gzip"})
    assert message.startswith("compresion.type is not a producer property kafka-python ")
    assert message.endswith(" knows (did you mean compression.type?)")


def test_librdkafka_judges_its_own_properties_and_values() -> None:
    assert 'refuses linger.msx: No such configuration property: "linger.msx"' in _refused(
        "confluent-kafka", "producer", {"linger.msx": 5})
    assert 'Invalid value for configuration property "fetch.wait.max.ms"' in _refused(
        "confluent-kafka", "consumer", {"fetch.wait.max.ms": "soon"})
    # a consumer property on a producer is only a warning to librdkafka: a scenario error here
    assert "auto.offset.reset is a consumer property and will be ignored by this producer instance" in _refused(
        "confluent-kafka", "producer", {"auto.offset.reset": "earliest"})


@pytest.mark.parametrize(("properties", "says"), [
    ({"max.poll.records": "lots"}, "max.poll.records takes a whole number, not 'lots'"),
    ({"max.poll.records": 2.5}, "max.poll.records takes a whole number, not 2.5"),
    ({"check.crcs": "yes"}, "check.crcs takes true or false, not 'yes'"),
])
def test_kafka_python_values_of_the_wrong_type_are_refused(properties: dict[str, object], says: str) -> None:
    assert _refused("kafka-python", "consumer", properties) == says


@pytest.mark.parametrize(("role", "key", "says"), [
    ("producer", "acks", "set producer.acks"),
    ("producer", "linger.ms", "set producer.linger"),
    ("producer", "bootstrap.servers", "the harness points every client at the run's listeners"),
    ("consumer", "group.id", "set consumer.group"),
    ("consumer", "enable.auto.commit", "set consumer.commit: auto"),
    ("consumer", "value.deserializer", "the harness writes each message's id into its key and value"),
])
def test_what_the_harness_or_a_field_sets_is_refused_with_where_to_set_it(role: str, key: str, says: str) -> None:
    for client in ("kafka-python", "confluent-kafka"):
        message = _refused(client, role, {key: "x"})
        assert message.startswith(f"{key} is not a {role} property a scenario sets: ") and says in message


def test_kafka_python_gets_its_own_names_and_types() -> None:
    assert kafka_python_settings("consumer", {"max.poll.records": "50", "check.crcs": "false",
                                              "auto.offset.reset": "latest"}) == {
        "max_poll_records": 50, "check_crcs": False, "auto_offset_reset": "latest"}


def test_the_producers_get_the_properties_over_the_harness_settings() -> None:
    scenario = parse_scenario(BASE + "producer: {properties: {compression.type: gzip, batch.size: '32768'}}\n",
                              "s.yaml")
    config = {"producer": scenario.producer.model_dump(mode="python"), "target": {"bootstrap": "127.0.0.1:9092"}}
    kafka_python = producer_settings(config)
    assert kafka_python["compression_type"] == "gzip" and kafka_python["batch_size"] == 32768
    assert kafka_python["acks"] == "all"   # the fields still say what they say
    librdkafka = librdkafka_settings(config)
    assert librdkafka["compression.type"] == "gzip" and librdkafka["batch.size"] == "32768"


def test_a_scenario_names_the_line_of_a_property_the_client_does_not_know() -> None:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(BASE + "consumer:\n  client: confluent-kafka\n  properties:\n    fetch.max.wait.ms: 5\n",
                       "s.yaml")
    assert str(caught.value).startswith("s.yaml:7:5: consumer.properties.fetch.max.wait.ms: librdkafka ")
    assert 'No such configuration property: "fetch.max.wait.ms"' in str(caught.value)


def test_rabbitmq_clients_take_no_kafka_properties() -> None:
    text = "name: t\ntarget: {kind: rabbitmq}\nload: {users: 1, rate: 10, duration: 5s}\n"
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text + "producer: {properties: {linger.ms: 5}}\n", "r.yaml")
    assert str(caught.value) == ("r.yaml:4:12: producer.properties: producer.properties are Kafka client properties:"
                                 " RabbitMQ clients use pika; remove producer.properties")


def test_the_sample_consumers_are_told_the_properties_in_their_clients_names() -> None:
    from pathlib import Path

    from harness.brokers.kafka.common import KafkaClusterBase
    from harness.scenario.sections import ConsumerSpec

    class _Routes:
        def dial(self, group: str) -> list[str]:
            return ["127.0.0.1:9092"]

    class _Admin:
        readers: dict[str, str] = {}

    cluster = object.__new__(KafkaClusterBase)
    scenario = parse_scenario(BASE, "s.yaml")
    cluster.spec, cluster.routes, cluster.admin = scenario.target, _Routes(), _Admin()   # type: ignore[attr-defined]
    for client, expected in (("kafka-python", {"max_poll_records": 50}),
                             ("confluent-kafka", {"max.poll.records": 50})):
        consumer = ConsumerSpec(client=client, properties={"max.poll.records": 50})
        argv = cluster.consumer_spec(1, Path("/l"), Path("/log"), consumer).argv
        assert json.loads(argv[argv.index("--properties") + 1]) == expected
    assert "--properties" not in cluster.consumer_spec(1, Path("/l"), Path("/log"), ConsumerSpec()).argv
