"""Issue 16 point 2: the Kafka consumer's commit mode, offset reset and session settings, checked
where they are written and handed to the sample consumers in their clients' own terms."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario.loader import parse_scenario
from harness.scenario.sections import ConsumerSpec
from tests.unit.test_scenario_validation import BASE, RABBIT

CONSUMERS = Path(__file__).resolve().parents[2] / "targets" / "consumers"


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    return str(caught.value)


def test_defaults_are_at_least_once_from_the_earliest_offset() -> None:
    consumer = parse_scenario(BASE, "s.yaml").consumer
    assert (consumer.commit, consumer.auto_offset_reset, consumer.session_timeout, consumer.heartbeat_interval) == (
        "after-process", "earliest", 10.0, 1.0)


@pytest.mark.parametrize(("consumer", "expected"), [
    ("{commit: before-commit}", "s.yaml:6:12: consumer.commit: Input should be 'after-process', 'before-process'"),
    ("{auto_commit_interval: 1s}", "s.yaml:6:12: consumer.auto_commit_interval: auto_commit_interval is how often"
                                   " the client commits with commit: auto, and commit is after-process"),
    ("{client: confluent-kafka, group_protocol: consumer, session_timeout: 20s}",
     "consumer.session_timeout: under group_protocol consumer (KIP-848) the broker holds the session_timeout:"
     " set target.broker_config group.consumer.session.timeout.ms instead"),
    ("{heartbeat_interval: 10s}", "consumer.heartbeat_interval: heartbeat_interval 10s must be shorter than"
                                  " session_timeout 10s"),
    ("{properties: {enable.auto.commit: true}}", "enable.auto.commit is not a consumer property a scenario sets:"
                                                 " set consumer.commit: auto"),
    ("{properties: {auto.offset.reset: latest}}", "set consumer.auto_offset_reset"),
    ("{properties: {session.timeout.ms: 30000}}", "set consumer.session_timeout"),
])
def test_commit_settings_are_refused_at_their_line_with_the_fix(consumer: str, expected: str) -> None:
    assert expected in error_of(BASE + f"consumer: {consumer}\n")


@pytest.mark.parametrize("field", ["commit: auto", "auto_offset_reset: latest", "session_timeout: 20s",
                                   "client: confluent-kafka"])
def test_rabbitmq_consumers_refuse_the_kafka_commit_settings(field: str) -> None:
    name = field.split(":")[0]
    assert (f"consumer.{name} is a Kafka setting: RabbitMQ consumers use pika; remove consumer.{name}"
            in error_of(RABBIT + f"consumer: {{{field}}}\n"))


def _argv(consumer: ConsumerSpec) -> list[str]:
    from harness.brokers.kafka.common import KafkaClusterBase

    class _Routes:
        def dial(self, group: str) -> list[str]:
            return ["127.0.0.1:9092"]

    class _Admin:
        readers: dict[str, str] = {}

    cluster = object.__new__(KafkaClusterBase)
    cluster.spec, cluster.routes, cluster.admin = (   # type: ignore[attr-defined]
        parse_scenario(BASE, "s.yaml").target, _Routes(), _Admin())
    return cluster.consumer_spec(1, Path("/l"), Path("/log"), consumer).argv


def _parsed(argv: list[str]) -> object:
    sys.path.insert(0, str(CONSUMERS))
    try:
        from sample_service import kafka_parser
    finally:
        sys.path.remove(str(CONSUMERS))
    return kafka_parser(None).parse_args(argv[2:])   # past the interpreter and the app


def test_each_mode_reaches_the_sample_consumer_as_its_parser_reads_it() -> None:
    auto = _parsed(_argv(ConsumerSpec(commit="auto", auto_commit_interval=0.5, auto_offset_reset="latest",
                                      session_timeout=12, heartbeat_interval=3)))
    assert (auto.commit, auto.auto_commit_interval, auto.auto_offset_reset,   # type: ignore[attr-defined]
            auto.session_timeout, auto.heartbeat_interval) == ("auto", 0.5, "latest", 12.0, 3.0)  # type: ignore[attr-defined]
    before = _argv(ConsumerSpec(commit="before-process"))
    assert _parsed(before).commit == "before-process" and "--auto-commit-interval" not in before  # type: ignore[attr-defined]
    kip848 = _argv(ConsumerSpec(client="confluent-kafka", group_protocol="consumer"))
    assert "--session-timeout" not in kip848 and "--heartbeat-interval" not in kip848


def test_a_matrix_over_the_commit_modes_builds_each_variant() -> None:
    """Each variant is validated again from a whole dump of the base: a check that read which fields
    were written would see every field written, and refused the base itself."""
    from harness.scenario.matrix import variants

    scenario = parse_scenario(BASE + "consumer: {commit: before-process}\n"
                              "matrix: {consumer.commit: [after-process, before-process, auto]}\n", "s.yaml")
    assert [v.scenario.consumer.commit for v in variants(scenario)] == ["after-process", "before-process", "auto"]
