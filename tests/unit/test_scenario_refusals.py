"""What cannot work is refused before anything starts, at its line (issue 13 points 1, 2, 3 and 5):
non-finite numbers, unbounded nemesis schedules, input the YAML parser chokes on, selectors and
settings that can only fail later, bounds that decide nothing, settings the harness owns."""

from __future__ import annotations

import re
import signal
import time
from pathlib import Path

import pytest

from harness.errors import ScenarioError
from harness.plan import plan
from harness.scenario import load_scenario
from harness.scenario.loader import MAX_BYTES, parse_scenario
from harness.scenario.model import MAX_FAULTS
from tests.unit.test_scenario_validation import BASE, RABBIT

NAMESPACES = BASE.replace("  nodes: 3\n", "  nodes: 3\nnetwork: {isolation: namespaces}\n")
LOCATED = re.compile(r"^s\.yaml:\d+:\d+: ")


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text, "s.yaml")
    message = str(info.value)
    assert all(LOCATED.match(line) for line in message.splitlines()), message
    return message


def with_config(config: str, base: str = BASE) -> str:
    return base.replace("  nodes: 3\n", f"  nodes: 3\n  broker_config: {config}\n")


# -- non-finite numbers ----------------------------------------------------------------------
def test_a_nan_fault_time_is_refused_so_the_faults_after_it_cannot_silently_never_fire() -> None:
    text = BASE + ("faults:\n  - {at: .nan, action: pause, target: 'node(2)'}\n"
                   "  - {at: 5s, action: kill, target: 'leader(orders, 0)', heal_after: 10s}\n")
    assert "s.yaml:7:10: faults.0.at:" in error_of(text) and "not a finite number" in error_of(text)


@pytest.mark.parametrize("text", [
    BASE.replace("duration: 30s", "duration: .inf"),
    BASE + "faults:\n  - {at: 5s, action: kill, target: 'node(1)', heal_after: .inf}\n",
    BASE.replace("rate: 100", "rate: .nan"),
    BASE.replace("rate: 100", "rate: 'nan'"),
    BASE.replace("rate: 100", "rate: '-inf'"),
    with_config("{min.insync.replicas: .inf}"),
    with_config("{min.insync.replicas: .nan}"),
    BASE + "expect: {lost: {min: -.inf, max: .inf}}\n",
    BASE + "expect: {lost: .nan}\n",
    BASE + "expect: {lost: 'nan'}\n",
    BASE + "expect: {lost: {max: 'inf'}}\n",
    BASE + "consumer: {processing: {fail_rate: .nan}}\n",
    BASE + "matrix: {producer.acks: [.nan]}\n",
], ids=["load.duration", "heal_after", "rate", "rate-text", "rate-minus-inf", "isr-inf", "isr-nan",
        "expect-infinite-bounds", "expect-nan", "expect-nan-text", "expect-max-inf-text", "fail_rate", "matrix"])
def test_non_finite_numbers_are_refused_everywhere(text: str) -> None:
    message = error_of(text)
    assert "finite" in message or "nan" in message.lower() or "inf" in message.lower()


def test_durations_beyond_the_documented_maximum_are_refused() -> None:
    assert "longer than the most" in error_of(BASE.replace("30s", "99999h"))
    assert "too large a number" in error_of(BASE.replace("30s", "9" * 400))


# -- unbounded nemesis -----------------------------------------------------------------------
@pytest.mark.parametrize("nemesis", [
    "{kinds: [kill], interval: 0, duration: 0, start: 5s}",
    "{kinds: [kill], interval: .nan, duration: 1s, start: 5s}",
    "{kinds: [kill], interval: 1ms, duration: 1ms, start: 5s}",
])
def test_a_nemesis_that_would_not_move_on_is_refused(nemesis: str) -> None:
    assert "nemesis" in error_of(BASE + f"nemesis: {nemesis}\n")


def test_a_nemesis_schedule_above_the_cap_is_refused_before_planning() -> None:
    text = BASE.replace("30s", "100h") + "nemesis: {kinds: [kill], interval: 100ms, duration: 100ms, start: 5s}\n"
    message = error_of(text)
    assert f"at most {MAX_FAULTS}" in message and "nemesis.interval" in message


def test_the_largest_nemesis_schedule_accepted_plans_quickly_and_within_the_cap() -> None:
    text = (BASE.replace("30s", "101s")
            + "nemesis: {kinds: [kill, pause], interval: 100ms, duration: 100ms, start: 1s}\n")
    started = time.monotonic()
    schedule = plan(parse_scenario(text, "s.yaml"))
    assert 0 < len(schedule.faults) <= MAX_FAULTS and time.monotonic() - started < 5


def test_the_generator_itself_stops_at_the_cap_whatever_it_is_given() -> None:
    import random

    from harness.nemesis import generate
    from harness.scenario.model import NemesisSpec

    spec = NemesisSpec.model_construct(kinds=["kill"], interval=0.0, duration=0.0, start=5.0, stop=None)
    assert len(generate(spec, 10_000_000.0, random.Random(1))) == MAX_FAULTS
    nan = NemesisSpec.model_construct(kinds=["kill"], interval=float("nan"), duration=float("nan"), start=5.0,
                                      stop=None)
    assert generate(nan, 100.0, random.Random(1)) == []


# -- what the parser chokes on -----------------------------------------------------------------
def _alias_bomb(levels: int = 9) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\nname: t\ntarget: {kind: kafka}\n"


@pytest.mark.parametrize("text", [
    BASE + "description: \"a\\0b\"\n",
    BASE + "description: a\x1bb\n",
    BASE + "description: a\x00b\n",
    BASE + "seed: " + "9" * 5000 + "\n",
    BASE + "seed: " + "9" * 30 + "\n",
    "base: &b {kind: kafka, nodez: 3}\nname: t\ntarget:\n  <<: *b\n  nodes: 3\n",
    "name: t\ntarget: " + "[" * 600 + "]" * 600 + "\n",
    "name: t\ntarget:" + "".join(f"\n{'  ' * (i + 1)}k{i}:" for i in range(60)) + " 1\n",
    BASE + "producer: {acks: [1]}\n",
    BASE + "producer: {acks: {a: 1}}\n",
    BASE + "description: \"\\ud800\"\n",
    BASE + "description: !!binary aGVsbG8=\n",
    BASE + "description: 2020-01-01\n",
    BASE + "seed: 2001-02-30\n",
    BASE + "description: !custom x\n",
    BASE + "? [a, b]\n: 1\n",
    BASE + "? !!null\n: 1\n",
    BASE + "\t\tname: x\n",
    BASE + "name: x\n",
    "[1, 2, 3]\n",
    "",
    _alias_bomb(),
], ids=["nul-escape", "escape-raw", "nul-raw", "int-5000-digits", "int-beyond-64-bits", "merge-key", "deep-flow",
        "deep-block", "acks-list", "acks-map", "lone-surrogate", "binary", "date", "bad-date", "custom-tag",
        "sequence-key", "null-key", "tabs", "duplicate-key", "not-a-mapping", "empty", "alias-bomb"])
def test_input_the_yaml_parser_chokes_on_is_a_located_error_not_a_traceback(text: str) -> None:
    started = time.monotonic()
    error_of(text)
    assert time.monotonic() - started < 2


def test_an_alias_bomb_stops_at_the_value_budget_quickly() -> None:
    started = time.monotonic()
    assert "more than" in error_of(_alias_bomb(12)) and time.monotonic() - started < 2


def test_merge_keys_work_and_their_errors_are_located() -> None:
    text = "base: &b {nodes: 3}\n"
    with pytest.raises(ScenarioError, match=r"s\.yaml:1:1: base: unknown key"):
        parse_scenario(text + "name: t\ntarget:\n  <<: *b\n  kind: kafka\n", "s.yaml")
    message = error_of("name: t\ntarget:\n  <<: {kind: kafka, nodez: 3}\n  nodes: 3\n")
    assert "nodez" in message


def test_a_file_that_is_not_utf8_is_refused_at_the_bad_byte(tmp_path: Path) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(b"name: t\ndescription: caf\xe9\n")
    with pytest.raises(ScenarioError, match=r"latin1\.yaml:2:17: the file is not UTF-8"):
        load_scenario(path)
    binary = tmp_path / "binary.yaml"
    binary.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ScenarioError, match=r"binary\.yaml:\d+:\d+: "):
        load_scenario(binary)


def test_a_huge_file_is_refused_unread(tmp_path: Path) -> None:
    path = tmp_path / "huge.yaml"
    path.write_text(BASE + "description: " + "x" * (MAX_BYTES + 10) + "\n")
    started = time.monotonic()
    with pytest.raises(ScenarioError, match=r"huge\.yaml:1:1: the file is larger than"):
        load_scenario(path)
    assert time.monotonic() - started < 1


def test_an_unreadable_file_is_located_too(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match=r"nope\.yaml:1:1: cannot read"):
        load_scenario(tmp_path / "nope.yaml")
    with pytest.raises(ScenarioError, match=r":1:1: cannot read"):
        load_scenario(tmp_path)


def test_a_large_but_acceptable_file_validates_within_a_few_seconds(tmp_path: Path) -> None:
    path = tmp_path / "big.yaml"
    faults = "".join(f"  - {{at: {i % 25}s, action: kill, target: 'node(1)'}}\n" for i in range(MAX_FAULTS))
    path.write_text(BASE + "faults:\n" + faults)
    signal.alarm(20)
    try:
        started = time.monotonic()
        assert len(load_scenario(path).faults) == MAX_FAULTS
        assert time.monotonic() - started < 10
    finally:
        signal.alarm(0)


def test_more_faults_than_the_cap_are_refused() -> None:
    faults = "".join("  - {at: 1s, action: kill, target: 'node(1)'}\n" for _ in range(MAX_FAULTS + 1))
    assert f"at most {MAX_FAULTS}" in error_of(BASE + "faults:\n" + faults)


# -- accepted although they can only fail later --------------------------------------------------
@pytest.mark.parametrize("target,expected", [
    ("leader(nosuch, 0)", "no topic 'nosuch'"),
    ("leader(orders, 999)", "has 6 partition(s)"),
    ("leader(orders)", "write leader(topic, partition)"),
    ("leader(orders.dlq, 1)", "no topic 'orders.dlq'"),
])
def test_kafka_leader_selectors_must_name_a_partition_the_run_has(target: str, expected: str) -> None:
    message = error_of(BASE + f"faults:\n  - {{at: 5s, action: kill, target: '{target}'}}\n")
    assert "s.yaml:7:28: faults.0.target:" in message and expected in message


def test_the_dead_letter_topic_has_one_leader_selectable_partition() -> None:
    text = (BASE + "consumer: {dead_letter: {topic: orders.dlq}}\n"
            "faults:\n  - {at: 5s, action: kill, target: 'leader(orders.dlq, 0)'}\n")
    assert str(parse_scenario(text).faults[0].target) == "leader(orders.dlq, 0)"
    assert "has 1 partition" in error_of(text.replace("orders.dlq, 0", "orders.dlq, 1"))


def test_rabbitmq_leader_selectors_must_name_a_queue_the_run_has() -> None:
    fault = "faults:\n  - {{at: 5s, action: kill, target: '{}'}}\n"
    assert "no queue 'other'" in error_of(RABBIT + fault.format("leader(other)"))
    assert "write leader(orders)" in error_of(RABBIT + fault.format("leader(orders, 0)"))
    assert parse_scenario(RABBIT + fault.format("leader(orders)")).faults[0].target is not None


def test_a_link_to_a_leader_is_checked_like_a_target() -> None:
    text = BASE + "faults:\n  - {at: 5s, action: latency, link: 'producer->leader(nosuch, 0)', latency: 100ms}\n"
    assert "no topic 'nosuch'" in error_of(text)


@pytest.mark.parametrize("heap", ["0m", "1m", "63m", "65g", "9999999999g"])
def test_a_heap_no_broker_starts_with_is_refused(heap: str) -> None:
    assert "target.heap:" in error_of(BASE.replace("  nodes: 3\n", f"  nodes: 3\n  heap: {heap}\n"))


@pytest.mark.parametrize("isr", ["2.7", "true", "-5", "0", "two", "[2]"])
def test_min_insync_replicas_must_be_a_whole_number_of_replicas(isr: str) -> None:
    message = error_of(with_config(f"{{min.insync.replicas: {isr}}}"))
    assert "target.broker_config.min.insync.replicas:" in message


def test_min_insync_replicas_as_a_number_or_digits_is_accepted() -> None:
    assert parse_scenario(with_config("{min.insync.replicas: 2}")).target.broker_config["min.insync.replicas"] == 2
    assert parse_scenario(with_config("{min.insync.replicas: '2'}")) is not None


def test_the_dead_letter_topic_must_differ_from_the_main_topic() -> None:
    message = error_of(BASE + "consumer: {dead_letter: {topic: orders}}\n")
    assert "consumer.dead_letter.topic:" in message and "must differ from the main topic" in message


@pytest.mark.parametrize("between,expected", [
    ("client|client", "client|client"), ("node(1)|node(1)", "both sides are node(1)"),
])
def test_a_cut_between_a_side_and_itself_is_refused(between: str, expected: str) -> None:
    message = error_of(NAMESPACES + f"faults:\n  - {{at: 5s, action: partition, mode: cut, between: '{between}'}}\n")
    assert expected in message and "between" in message


def test_isolating_the_only_node_is_refused() -> None:
    one = NAMESPACES.replace("nodes: 3", "nodes: 1") + "target_extra: 0\n"
    one = one.replace("target_extra: 0\n", "")
    one = one.replace("  nodes: 1\n", "  nodes: 1\n  topic: {replication_factor: 1}\n")
    message = error_of(one + "faults:\n  - {at: 5s, action: partition, mode: isolate, target: 'node(1)'}\n")
    assert "needs at least 2 nodes" in message
    ok = one + "faults:\n  - {at: 5s, action: partition, mode: cut, between: 'client|node(1)'}\n"
    assert parse_scenario(ok).faults[0].mode == "cut"
    assert "at least 3 nodes" in error_of(
        one + "nemesis: {kinds: [partition], interval: 5s, duration: 2s, start: 5s}\n")


@pytest.mark.parametrize("text", [
    BASE.replace("  nodes: 3\n", "  nodes: 3\n  topic: {name: -orders}\n"),
    BASE + "consumer: {group: --help}\n",
    BASE + "consumer: {dead_letter: {topic: -dlq}}\n",
    RABBIT.replace("name: orders", "name: -orders"),
    RABBIT + "consumer: {dead_letter: {queue: -x}}\n",
])
def test_names_that_would_read_as_command_line_options_are_refused(text: str) -> None:
    error_of(text)


def test_internal_kafka_topics_and_rabbitmqs_own_queues_are_refused() -> None:
    message = error_of(BASE.replace("  nodes: 3\n", "  nodes: 3\n  topic: {name: __consumer_offsets}\n"))
    assert "target.topic.name:" in message and "internal topics" in message
    assert "internal" in error_of(BASE + "consumer: {dead_letter: {topic: __dlq}}\n")
    message = error_of(RABBIT.replace("name: orders", "name: amq.orders"))
    assert "target.queue.name:" in message and "amq." in message
    assert "amq." in error_of(RABBIT + "consumer: {dead_letter: {queue: amq.dlq}}\n")


def test_a_load_that_sends_nothing_is_refused() -> None:
    assert "less than one message" in error_of(BASE.replace("rate: 100", "rate: 0.001"))


# -- bounds that decide nothing ------------------------------------------------------------------
@pytest.mark.parametrize("expect,expected", [
    ("{lost: {max: -1}}", "can never pass"),
    ("{lost: -1}", "can never pass"),
    ("{lost: 0.5}", "can never pass"),
    ("{lost: {min: 0.2, max: 0.8}}", "holds no whole number"),
    ("{lost: {min: 0}}", "can never fail"),
    ("{redeliveries: {min: -3}}", "can never fail"),
    ("{e2e_latency_p99_ms: {max: -1}}", "can never pass"),
    ("{e2e_latency_p99_ms: {min: 0}}", "can never fail"),
    ("{lost: true}", "not a bound"),
])
def test_bounds_that_can_never_fail_or_never_pass_are_refused(expect: str, expected: str) -> None:
    message = error_of(BASE + f"expect: {expect}\n")
    assert "s.yaml:6:" in message and "expect.lost" in message or "expect." in message
    assert expected in message


@pytest.mark.parametrize("expect", [
    "{lost: 0}", "{lost: {min: 1}}", "{lost: {max: 0}}", "{lost: {min: 0, max: 10}}", "{faults_failed: {max: 1}}",
    "{produce_latency_p99_ms: {min: 300}}", "{e2e_latency_p99_ms: {max: 0.5}}", "{final_consumer_lag: {min: -5}}",
    "{max_consumer_lag: -2}",
])
def test_bounds_that_can_go_either_way_are_accepted(expect: str) -> None:
    assert parse_scenario(BASE + f"expect: {expect}\n").expect


# -- settings the harness owns ---------------------------------------------------------------------
@pytest.mark.parametrize("key", [
    "advertised.listeners", "listeners", "controller.quorum.voters", "controller.listener.names",
    "listener.security.protocol.map", "inter.broker.listener.name", "node.id", "broker.id", "process.roles",
    "log.dirs", "log.dir", "metadata.log.dir", "listener.name.controller.sasl.enabled.mechanisms",
    "zookeeper.connect", "security.inter.broker.protocol",
])
def test_kafka_topology_settings_are_the_harnesss(key: str) -> None:
    message = error_of(with_config(f"{{{key}: 'PLAINTEXT://evil.example:9092'}}"))
    assert f"target.broker_config.{key}:" in message and "set by the harness" in message and "remove it" in message


@pytest.mark.parametrize("key", [
    "listeners.tcp.default", "listeners.ssl.1", "distribution.listener.interface",
    "distribution.listener.port_range.min", "loopback_users", "loopback_users.guest", "log.dir", "log.file",
    "log.console", "cluster_formation.peer_discovery_backend", "management.tcp.port", "ssl_options.cacertfile",
])
def test_rabbitmq_topology_settings_are_the_harnesss(key: str) -> None:
    text = RABBIT.replace("type: quorum}}", f"type: quorum}}, broker_config: {{{key}: '0.0.0.0:5672'}}}}")
    message = error_of(text)
    assert f"target.broker_config.{key}:" in message and "set by the harness" in message


def test_tuning_settings_stay_the_scenarios() -> None:
    kafka = parse_scenario(with_config("{num.io.threads: 8, replica.fetch.wait.max.ms: 500, log.retention.ms: 1000}"))
    assert kafka.target.broker_config["num.io.threads"] == 8
    text = RABBIT.replace("type: quorum}}", "type: quorum}, broker_config: {cluster_partition_handling: autoheal,"
                                           " log.console.level: debug, vm_memory_high_watermark.relative: 0.6}}")
    assert parse_scenario(text).target.broker_config["log.console.level"] == "debug"


@pytest.mark.parametrize("config", [
    '{num.io.threads: "4\\nlog.dirs=/etc"}', '{num.io.threads: "4\\rx"}', '{num.io.threads: "4\\tx"}',
    '{num.io.threads: "4\\\\"}', '{"num.io\\nthreads": 4}', '{"a=b": 4}', '{"-x": 4}', '{"a b": 4}',
])
def test_a_setting_cannot_carry_a_second_line_into_the_brokers_file(config: str) -> None:
    error_of(with_config(config))


def test_matrix_settings_follow_the_same_rules() -> None:
    assert "control character" in error_of(BASE + 'matrix: {producer.acks: ["1\\nx"]}\n')
    assert "set by the harness" in error_of(BASE + "matrix: {target.broker_config.advertised.listeners: [x]}\n")
    assert "control character" in error_of(BASE + 'matrix: {"a\\tb": [1]}\n')
    assert "not a setting name" in error_of(BASE + 'matrix: {"a=b": [1]}\n')
    assert "not a list" in error_of(BASE + 'matrix: {producer.acks: [[1]]}\n')


# -- compose is opt-in -------------------------------------------------------------------------
def test_runtime_compose_needs_a_named_project() -> None:
    message = error_of(BASE + "runtime: compose\n")
    assert "s.yaml:6:1: runtime:" in message and "add compose_project: NAME or pass --compose-project NAME" in message
    assert parse_scenario(BASE + "runtime: compose\ncompose_project: shop\n").compose_project == "shop"
    overridden = parse_scenario(BASE, "s.yaml", {"runtime": "compose", "compose_project": "shop-2"})
    assert overridden.compose_project == "shop-2"


def test_a_compose_project_with_another_runtime_or_a_bad_name_is_refused() -> None:
    message = error_of(BASE + "compose_project: shop\n")
    assert "s.yaml:6:1: compose_project:" in message and "runtime: compose" in message
    assert "compose_project" in error_of(BASE + "runtime: compose\ncompose_project: Shop!\n")
    assert "compose_project" in error_of(BASE + "runtime: compose\ncompose_project: -x\n")


# -- unusual but meaningful ------------------------------------------------------------------------
def test_overlapping_faults_and_a_heal_after_the_load_stay_accepted() -> None:
    text = BASE + ("faults:\n  - {at: 0s, action: pause, target: 'node(1)', heal_after: 20s}\n"
                   "  - {at: 10s, action: kill, target: 'node(2)', heal_after: 60s}\n"
                   "  - {at: 12s, action: kill, target: 'node(1)', heal_after: 5s}\n")
    schedule = plan(parse_scenario(text))
    assert [(f.at, f.heal_at) for f in schedule.faults] == [(0.0, 20.0), (10.0, None), (12.0, 17.0)]


# -- messages say what was written ----------------------------------------------------------------
@pytest.mark.parametrize("text,expected", [
    (BASE + "seed: true\n", "s.yaml:6:1: seed: true is not a number"),
    (BASE.replace("users: 2", "users: true"), "s.yaml:5:8: load.users: true is not a number"),
    (BASE.replace("  nodes: 3\n", "  nodes: 3\n  topic: {replication_factor: true}\n"), "replication_factor: true is"),
    (BASE + "expect: {lost: {min: true}}\n", "s.yaml:6:17: expect.lost.min: true is not a number"),
    (BASE + "expect: {lost: many}\n", "s.yaml:6:10: expect.lost: Input should be a valid number"),
    (BASE + "consumer: {group: -x}\n", "consumer.group: '-x' does not match"),
])
def test_booleans_are_not_numbers_and_errors_name_only_the_keys_written(text: str, expected: str) -> None:
    message = error_of(text)
    assert expected in message and len(message.splitlines()) == 1, message
    assert "function-" not in message and "float" not in message.split(":")[3]
