"""Scenario loading: valid files load, invalid ones fail with file:line:col and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.scenario import load_scenario
from harness.scenario.loader import parse_scenario

SCENARIOS = sorted((Path(__file__).parents[2] / "scenarios").glob("*.yaml"))

BASE = """\
name: t
target:
  kind: kafka
  nodes: 3
load: {users: 2, rate: 100, duration: 30s}
"""


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    return str(info.value)


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid(path: Path) -> None:
    scenario = load_scenario(path)
    assert scenario.name == path.stem


def test_defaults_fill_a_minimal_scenario() -> None:
    scenario = parse_scenario(BASE)
    assert scenario.producer.acks == "all"
    assert scenario.target.topic.replication_factor == 3
    assert scenario.load.duration == 30.0


def test_unknown_key_is_reported_with_its_line_and_column() -> None:
    message = error_of(BASE + "prodcer: {acks: all}\n")
    assert message.startswith("s.yaml:6:1: prodcer: unknown key 'prodcer'")


def test_nested_unknown_key_points_inside_the_mapping() -> None:
    message = error_of(BASE.replace("  nodes: 3", "  nodes: 3\n  nodez: 3"))
    assert "s.yaml:5:3:" in message and "nodez" in message


def test_bad_duration_names_the_accepted_forms() -> None:
    message = error_of(BASE.replace("30s", "30 parsecs"))
    assert "s.yaml:5:29: load.duration:" in message and "15s" in message


@pytest.mark.parametrize("text,seconds", [("500ms", 0.5), ("15s", 15.0), ("2m", 120.0), ("1h", 3600.0), (7, 7.0)])
def test_durations_accept_units(text: object, seconds: float) -> None:
    scenario = parse_scenario(BASE.replace("30s", str(text)))
    assert scenario.load.duration == seconds


def test_impossible_replication_factor_is_refused_where_it_is_written() -> None:
    message = error_of(BASE.replace("  nodes: 3", "  nodes: 2\n  topic: {replication_factor: 3}"))
    assert "s.yaml:5:11: target.topic.replication_factor:" in message
    assert "replication_factor 3 exceeds nodes 2" in message


def test_min_insync_above_replication_factor_is_refused() -> None:
    message = error_of(BASE.replace("  nodes: 3", "  nodes: 3\n  broker_config: {min.insync.replicas: 4}"))
    assert "min.insync.replicas 4 exceeds replication_factor 3" in message


def test_unknown_fault_action_lists_the_known_ones() -> None:
    message = error_of(BASE + "faults:\n  - {at: 5s, action: explode, target: node(1)}\n")
    assert "s.yaml:7:14: faults.0.action:" in message and "unknown action 'explode'" in message and "kill" in message


def test_malformed_target_selector_says_how_to_write_it() -> None:
    message = error_of(BASE + "faults:\n  - {at: 5s, action: kill, target: leadr(orders)}\n")
    assert "unknown target 'leadr(orders)'" in message and "leader(topic, partition)" in message


def test_fault_on_a_node_that_does_not_exist_is_refused() -> None:
    message = error_of(BASE + "faults:\n  - {at: 5s, action: kill, target: node(4)}\n")
    assert "s.yaml:7:28:" in message and "node(4) but the cluster has 3 nodes" in message


def test_fault_after_the_load_ends_is_refused_at_its_line() -> None:
    message = error_of(BASE + "faults:\n  - {at: 40s, action: kill, target: node(1)}\n")
    assert "s.yaml:7:6: faults.0.at:" in message and "not inside the load" in message


def test_unknown_expectation_figure_is_refused() -> None:
    message = error_of(BASE + "expect: {lots: 0}\n")
    assert "unknown figure(s) lots" in message and "lost" in message


def test_expectation_bounds_must_be_ordered() -> None:
    assert "greater than max" in error_of(BASE + "expect: {lost: {min: 5, max: 1}}\n")


def test_idempotence_requires_acks_all() -> None:
    assert "requires acks: all" in error_of(BASE + "producer: {acks: 1, enable_idempotence: true}\n")


def test_invalid_yaml_reports_the_position() -> None:
    message = error_of("name: t\ntarget: {kind: kafka\n")
    assert message.startswith("s.yaml:") and "invalid YAML" in message


def test_missing_required_key_is_named() -> None:
    assert "missing required key 'target'" in error_of("name: t\n")


def test_unreadable_file_is_a_scenario_error(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="cannot read"):
        load_scenario(tmp_path / "nope.yaml")


def test_killing_the_relay_needs_an_outbox() -> None:
    message = error_of(BASE + "faults:\n  - {at: 5s, action: kill, target: relay}\n")
    assert "s.yaml:7:28:" in message and "relay is the outbox relay: add producer: {outbox:" in message
    ok = parse_scenario(BASE + "producer: {outbox: {store: sqlite}}\n"
                        "faults:\n  - {at: 5s, action: kill, target: relay, heal_after: 2s}\n", "s.yaml")
    assert ok.producer.outbox is not None and str(ok.faults[0].target) == "relay"


def test_outbox_is_refused_for_rabbitmq_until_it_has_a_relay() -> None:
    text = "name: t\ntarget: {kind: rabbitmq}\nproducer: {outbox: {store: sqlite}}\n"
    message = error_of(text)
    assert "s.yaml:3" in message and "outbox: not supported for RabbitMQ yet" in message


def test_a_partition_cannot_cut_off_a_client_process_by_name() -> None:
    text = BASE.replace("  nodes: 3\n", "  nodes: 3\nnetwork: {isolation: namespaces}\n")
    message = error_of(text + "faults:\n  - {at: 5s, action: partition, mode: cut, between: 'relay|node(1)'}\n")
    assert "between: relay is a client" in message


def test_disconnecting_a_node_needs_the_docker_runtime() -> None:
    text = BASE.replace("  nodes: 3\n", "  nodes: 3\nnetwork: {isolation: namespaces}\n")
    fault = "faults:\n  - {at: 5s, action: partition, mode: disconnect, target: 'node(2)', heal_after: 5s}\n"
    message = error_of(text + fault)
    assert "s.yaml:8" in message and "mode disconnect" in message and "runtime: docker" in message
    scenario = parse_scenario(text + "runtime: docker\n" + fault)
    assert scenario.faults[0].mode == "disconnect" and str(scenario.faults[0].target) == "node(2)"


def test_a_compose_managed_cluster_takes_no_proxy_and_no_broker_settings() -> None:
    """Its brokers advertise their own listeners and were configured by the compose file: what the
    scenario cannot change is an error at its line, never silently ignored."""
    latency = "faults:\n  - {at: 5s, action: latency, link: 'producer->node(1)', latency: 100ms, heal_after: 5s}\n"
    message = error_of(BASE + "runtime: compose\n" + latency)
    assert "s.yaml:8" in message and "Toxiproxy link fault" in message and "runtime: docker" in message
    message = error_of(BASE + "runtime: compose\nnemesis: {kinds: [kill, latency], interval: 5s, duration: 3s}\n")
    assert "nemesis kinds latency" in message
    settings = BASE.replace("  nodes: 3\n",
                            "  nodes: 3\n  broker_config: {min.insync.replicas: 2, num.io.threads: 8}\n")
    message = error_of(settings + "runtime: compose\n")
    assert "s.yaml:5" in message and "num.io.threads" in message and "KAFKA_<KEY>" in message
    topic_level = BASE.replace("  nodes: 3\n", "  nodes: 3\n  broker_config: {min.insync.replicas: 2}\n")
    assert parse_scenario(topic_level + "runtime: compose\ncompose_project: shop\n").runtime == "compose"
    assert "net_ticktime" in error_of(RABBIT.replace("type: quorum}", "type: quorum}, net_ticktime: 30")
                                      + "runtime: compose\n")
    rabbit = RABBIT.replace("type: quorum}", "type: quorum}, broker_config: {cluster_partition_handling: autoheal}")
    compose = parse_scenario(rabbit + "runtime: compose\ncompose_project: shop\n")
    assert compose.target.broker_config == {"cluster_partition_handling": "autoheal"}


def test_the_runtime_given_on_the_command_line_is_validated_with_the_file(tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(BASE + "faults:\n  - {at: 5s, action: latency, link: 'producer->node(1)', latency: 100ms}\n")
    assert load_scenario(path, {"runtime": "docker"}).runtime == "docker"
    with pytest.raises(ScenarioError, match=r"slow.yaml:7:.*Toxiproxy link fault"):
        load_scenario(path, {"runtime": "compose"})


RABBIT = "name: t\ntarget: {kind: rabbitmq, queue: {name: orders, type: quorum}}\n"


def test_dead_letter_destination_must_fit_the_broker() -> None:
    assert "write dead_letter: {queue: NAME}" in error_of(RABBIT + "consumer: {dead_letter: {topic: orders.dlq}}\n")
    assert "write dead_letter: {topic: NAME}" in error_of(BASE + "consumer: {dead_letter: {queue: orders.dlq}}\n")
    assert "must differ from the main queue" in error_of(RABBIT + "consumer: {dead_letter: {queue: orders}}\n")
    message = error_of(RABBIT + "consumer: {ack: auto, dead_letter: {queue: orders.dlq}}\n")
    assert "s.yaml:3" in message and "set consumer.ack: manual" in message


def test_rabbitmq_consumers_take_every_pattern() -> None:
    scenario = parse_scenario(RABBIT + """\
producer: {poison: {rate: 0.01}}
consumer:
  processing: {time: 1ms, fail_rate: 0.05}
  idempotency: {store: sqlite}
  retry: {max_attempts: 4}
  dead_letter: {queue: orders.dlq}
  downstream: {service: inventory}
  circuit_breaker: {failure_threshold: 3}
""", "s.yaml")
    assert scenario.consumer.dead_letter is not None and scenario.consumer.dead_letter.destination == "orders.dlq"
