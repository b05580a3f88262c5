"""consumer.client and consumer.group_protocol (KIP-848): refused at their line where the client or
the release cannot speak the protocol, and the protocol the broker says the group runs must be the
one asked for (tests/integration/test_kafka_group_protocols.py runs both on real brokers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from harness.errors import ClusterError, ScenarioError
from harness.scenario.loader import parse_scenario
from harness.scenario.sections import ConsumerSpec
from harness.services.consumers import ConsumerGroup
from tests.unit.run_standins import StandinCluster


def scenario(target: str, consumer: str) -> str:
    return f"name: g\ntarget: {{{target}}}\nconsumer:\n  {consumer}\nload: {{rate: 10, duration: 5s}}\n"


def test_kip_848_on_kafka_4_with_confluent_kafka_is_accepted() -> None:
    kip848 = "{client: confluent-kafka, group_protocol: consumer}"
    parsed = parse_scenario(scenario("kind: kafka, version: 4.1.1", kip848))
    assert (parsed.consumer.client, parsed.consumer.group_protocol) == ("confluent-kafka", "consumer")
    assert parse_scenario(scenario("kind: kafka", "{group: g}")).consumer.group_protocol == "classic"


@pytest.mark.parametrize("target,consumer,says", [
    ("kind: kafka, version: 4.1.1", "{group_protocol: consumer}",
     "group_protocol consumer (KIP-848) needs a client that speaks it, and kafka-python does not:"
     " set consumer.client: confluent-kafka"),
    ("kind: kafka, version: 3.9.1", "{client: confluent-kafka, group_protocol: consumer}",
     "group_protocol consumer (KIP-848) needs Kafka 4.0 or later (on 3.9.1 it is an early-access preview"),
    ("kind: rabbitmq", "{client: confluent-kafka}", "consumer.client is a Kafka setting: RabbitMQ consumers use pika"),
    ("kind: rabbitmq", "{group_protocol: classic, client: kafka-python, group: x}", None),
])
def test_a_protocol_the_client_or_release_cannot_speak_is_refused_at_its_line(target: str, consumer: str,
                                                                             says: str | None) -> None:
    if says is None:
        parse_scenario(scenario(target, consumer), "g.yaml")
        return
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(scenario(target, consumer), "g.yaml")
    assert str(refused.value).startswith("g.yaml:4:") and says in str(refused.value), str(refused.value)


class Grouped(StandinCluster):
    """A stand-in whose broker says the group runs `protocol`."""

    protocol: str | None = "classic"

    def group_protocol(self, group: str) -> str | None:
        return self.protocol


def _group(tmp_path: Path, protocol: str | None, **consumer: Any) -> ConsumerGroup:
    cluster = Grouped.__new__(Grouped)
    cluster.protocol = protocol
    group = ConsumerGroup.__new__(ConsumerGroup)
    group.cluster, group.spec, group.facts = cluster, ConsumerSpec(**consumer), {}
    group.instances = {1: object()}   # type: ignore[dict-item]  # only counted here
    return group


def test_a_group_that_runs_another_protocol_than_asked_is_an_error(tmp_path: Path) -> None:
    group = _group(tmp_path, "classic", client="confluent-kafka", group_protocol="consumer")
    with pytest.raises(ClusterError, match="runs the classic protocol; the scenario asks for consumer"):
        group._check_protocol()


def test_the_protocol_and_client_the_group_runs_are_recorded(tmp_path: Path) -> None:
    from importlib import metadata

    group = _group(tmp_path, "consumer", client="confluent-kafka", group_protocol="consumer")
    group._check_protocol()
    client = f"confluent-kafka {metadata.version('confluent-kafka')}"
    assert group.facts == {"group_protocol": "consumer", "consumer": client}
    queues = _group(tmp_path, None)   # a broker without groups: nothing to check or record
    queues._check_protocol()
    assert queues.facts == {}
