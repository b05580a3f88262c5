"""Issue 16 point 3: RabbitMQ queue arguments and policies, checked against what each release itself
lists (capabilities.json, read from its nodes) where the scenario writes them."""

from __future__ import annotations

import json

import pytest

from harness.brokers.rabbitmq.capabilities import CAPABILITIES_FILE, capabilities
from harness.brokers.rabbitmq.dist import RELEASES
from harness.brokers.rabbitmq.queues import queue_arguments
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.errors import ScenarioError
from harness.scenario.loader import parse_scenario


def scenario(queue: str = "{name: orders, type: quorum}", extra: str = "", version: str = "3.10",
             consumer: str = "") -> str:
    return (f"name: t\ntarget:\n  kind: rabbitmq\n  version: '{version}'\n  queue: {queue}\n{extra}"
            f"load: {{users: 1, rate: 10, duration: 5s}}\n{consumer}")


def error_of(text: str) -> str:
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    return str(caught.value)


def target(text: str) -> RabbitSpec:
    spec = parse_scenario(text, "s.yaml").target
    assert isinstance(spec, RabbitSpec)
    return spec


def test_every_release_the_harness_runs_has_its_own_lists() -> None:
    table = json.loads(CAPABILITIES_FILE.read_text())
    assert set(table) == set(RELEASES)
    # what the nodes said: mirroring's keys exist before 4.0 only; 4.0 added per-type apply-to
    assert "ha-mode" in capabilities("3.10").policy_keys
    assert "ha-mode" not in capabilities("4.0").policy_keys
    assert "quorum_queues" in capabilities("4.0").apply_to and "quorum_queues" not in capabilities("3.10").apply_to
    assert "x-delivery-limit" in capabilities("3.10").queue_arguments["quorum"]
    assert "x-delivery-limit" not in capabilities("3.10").queue_arguments["classic"]


def test_arguments_are_declared_with_the_queue_type_and_given_to_every_declarer() -> None:
    spec = target(scenario("{name: orders, type: quorum, arguments: {x-max-length: 1000, x-overflow: drop-head,"
                           " x-delivery-limit: 3, x-quorum-initial-group-size: 3}}"))
    assert queue_arguments(spec.queue) == {"x-max-length": 1000, "x-overflow": "drop-head", "x-delivery-limit": 3,
                                           "x-quorum-initial-group-size": 3, "x-queue-type": "quorum"}
    classic = target(scenario("{name: orders, type: classic, arguments: {x-max-priority: 10}}"))
    assert queue_arguments(classic.queue) == {"x-max-priority": 10}


@pytest.mark.parametrize(("queue", "expected"), [
    ("{name: orders, type: quorum, arguments: {x-max-lenght: 10}}",
     "s.yaml:5:51: target.queue.arguments.x-max-lenght: x-max-lenght is not an argument RabbitMQ 3.10 knows for"
     " quorum queues (did you mean x-max-length?); it would be ignored without a word"),
    ("{name: orders, type: quorum, arguments: {x-max-priority: 10}}",
     "x-max-priority is not an argument RabbitMQ 3.10 takes for quorum queues (only for classic queues)"),
    ("{name: orders, type: classic, arguments: {x-delivery-limit: 3}}", "(only for quorum queues)"),
    ("{name: orders, type: quorum, arguments: {x-max-length: '1000'}}",
     "x-max-length takes a whole number, not '1000': write it without quotes"),
    ("{name: orders, type: quorum, arguments: {x-overflow: reject-publish-dlx}}",
     "x-overflow 'reject-publish-dlx': quorum queues take drop-head, reject-publish"),
    ("{name: orders, type: quorum, arguments: {x-queue-type: classic}}", "set it there"),
    ("{name: orders, type: quorum, arguments: {x-dead-letter-exchange: dlx}}", "set consumer.dead_letter"),
    ("{name: orders, type: quorum, arguments: {x-quorum-initial-group-size: 5}}",
     "x-quorum-initial-group-size 5 is more than the cluster's 3 nodes"),
    ("{name: orders, type: stream, arguments: {x-max-age: 7 days}}", "a number and a unit"),
    ("{name: orders, type: quorum, arguments: {x-single-active-consumer: 1}}", "takes true or false"),
])
def test_a_wrong_argument_is_refused_at_its_line_with_the_fix(queue: str, expected: str) -> None:
    assert expected in error_of(scenario(queue))


def test_an_argument_only_a_newer_release_knows_is_refused_on_an_older_one() -> None:
    queue = "{name: orders, type: quorum, arguments: {x-consumer-timeout: 60000}}"
    assert target(scenario(queue, version="4.3")).queue.arguments == {"x-consumer-timeout": 60000}
    assert "not an argument RabbitMQ 4.0 knows for quorum queues" in error_of(scenario(queue, version="4.0"))


POLICY = "  policies:\n    - {{name: limits, pattern: '^orders$', definition: {definition}{more}}}\n"


def policy(definition: str, more: str = "") -> str:
    return POLICY.format(definition=definition, more=more)


def test_a_policy_is_kept_as_written() -> None:
    spec = target(scenario(extra=policy("{max-length: 500, overflow: reject-publish}", ", priority: 5")))
    (written,) = spec.policies
    assert (written.name, written.pattern, written.apply_to, written.priority) == ("limits", "^orders$", "queues", 5)
    assert written.definition == {"max-length": 500, "overflow": "reject-publish"}


@pytest.mark.parametrize(("version", "definition", "more", "expected"), [
    ("3.10", "{max-lenght: 5}", "", "s.yaml:7:56: target.policies.0.definition.max-lenght: max-lenght is not a"
                                     " policy key RabbitMQ 3.10 knows (did you mean max-length?)"),
    ("4.0", "{ha-mode: all}", "", "ha-mode on RabbitMQ 4.0: classic queue mirroring was removed in RabbitMQ 4.0"),
    ("3.10", "{ha-mode: all}", "", "ha-mode: quorum queues ignore it, and the policy reaches the run's quorum queue"
                                   " orders"),
    ("3.10", "{max-length: 5}", ", apply_to: quorum_queues", "apply_to 'quorum_queues': RabbitMQ 3.10 takes queues,"
                                                             " exchanges, all"),
    ("3.10", "{max-length: 5}", ", pattern: '(orders'", "is not a regular expression"),
    ("3.10", "{dead-letter-exchange: dlx}", "", "set consumer.dead_letter"),
    ("3.10", "{overflow: reject-publish-dlx}", "", "overflow 'reject-publish-dlx': quorum queues take"),
    ("3.10", "{message-ttl: 1.5}", "", "message-ttl takes a whole number"),
])
def test_a_wrong_policy_is_refused_at_its_line_with_the_fix(version: str, definition: str, more: str,
                                                             expected: str) -> None:
    text = scenario(extra=policy(definition, more).replace("pattern: '^orders$', ", "")
                    if "pattern" in more else policy(definition, more), version=version)
    assert expected in error_of(text)


def test_a_policy_that_reaches_no_run_queue_is_checked_for_its_keys_only() -> None:
    # mirroring a classic queue elsewhere on 3.10 is the user's business; the run's quorum queue is not reached
    text = scenario(extra=policy("{ha-mode: all}").replace("'^orders$'", "'^legacy\\.'"))
    assert target(text).policies[0].definition == {"ha-mode": "all"}


def test_two_policies_of_one_name_are_refused() -> None:
    text = scenario(extra=policy("{max-length: 5}") + "    - {name: limits, pattern: x, definition: {expires: 5}}\n")
    assert "target.policies.1.name: a second policy named limits" in error_of(text)


DLQ = "consumer: {ack: manual, dead_letter: {queue: orders-dlq}}\n"


def test_dead_lettering_keeps_reject_publish_on_a_quorum_queue() -> None:
    message = error_of(scenario("{name: orders, type: quorum, arguments: {x-overflow: drop-head}}", consumer=DLQ))
    assert "target.queue.arguments.x-overflow: x-overflow drop-head: quorum queues dead-letter at-least-once" in message
    message = error_of(scenario(extra=policy("{overflow: drop-head}"), consumer=DLQ))
    assert "target.policies.0.definition.overflow" in message and "policy limits reaches queue orders" in message
    # without dead-lettering drop-head is the user's choice, and the checker counts what it drops
    assert target(scenario("{name: orders, type: quorum, arguments: {x-overflow: drop-head}}")).queue.arguments


def test_a_policy_reaching_the_dead_letter_queue_is_checked_against_it() -> None:
    text = scenario("{name: orders, type: classic}", extra=policy("{queue-mode: lazy}").replace("'^orders$'", "orders"),
                    consumer=DLQ)
    assert "queue-mode: quorum queues ignore it, and the policy reaches the run's quorum queue orders-dlq" in \
        error_of(text)
    clash = scenario(extra=policy("{max-length: 5}").replace("name: limits", "name: orders-dlq-dead-lettering"),
                     consumer=DLQ)
    assert "the harness names its dead-lettering policy so" in error_of(clash)


def test_policies_are_refused_on_a_compose_cluster() -> None:
    text = scenario(extra=policy("{max-length: 5}")).replace("  version: '3.10'\n", "") + "runtime: compose\n"
    assert "a policy set on a compose-managed cluster would outlive the run" in error_of(text)


@pytest.mark.parametrize(("queue", "version", "consumer", "expected"), [
    ("{name: orders, type: classic}", "3.10", "{requeue: true}", "only quorum queues count deliveries"),
    ("{name: orders, type: quorum}", "3.10", "{requeue: true}",
     "requeue on RabbitMQ 3.10 without a delivery limit would redeliver a message no consumer can process forever"),
    ("{name: orders, type: quorum, arguments: {x-delivery-limit: 3}}", "3.10", "{requeue: true, ack: auto}",
     "which auto-ack cannot"),
])
def test_requeue_is_refused_where_nothing_would_end_the_loop(queue: str, version: str, consumer: str,
                                                             expected: str) -> None:
    assert expected in error_of(scenario(queue, version=version, consumer=f"consumer: {consumer}\n"))


def test_requeue_is_taken_where_a_delivery_limit_ends_the_loop() -> None:
    requeue = "consumer: {requeue: true}\n"
    assert parse_scenario(scenario("{name: orders, type: quorum, arguments: {x-delivery-limit: 3}}",
                                   consumer=requeue), "s.yaml").consumer.requeue
    assert parse_scenario(scenario(extra=policy("{delivery-limit: 3}"), consumer=requeue), "s.yaml").consumer.requeue
    assert parse_scenario(scenario(version="4.0", consumer=requeue), "s.yaml").consumer.requeue   # 4.0's default 20
    kafka = "name: t\ntarget: {kind: kafka}\nload: {users: 1, rate: 10, duration: 5s}\n" + requeue
    assert "consumer.requeue is a RabbitMQ setting" in error_of(kafka)


def test_confirm_timeout_needs_confirms() -> None:
    refused = scenario() + "producer: {confirms: false, confirm_timeout: 2s}\n"
    assert "set confirms: true or remove it" in error_of(refused)
    assert parse_scenario(scenario() + "producer: {confirm_timeout: 2s}\n", "s.yaml").producer.confirm_timeout == 2.0


@pytest.mark.parametrize(("queue", "extra", "requeue", "version", "limits"), [
    ("{name: orders, type: quorum}", "", False, "3.10", []),
    ("{name: orders, type: quorum, arguments: {x-max-length: 5}}", "", False, "3.10", ["max-length"]),
    ("{name: orders, type: quorum, arguments: {x-max-length: 5, x-overflow: reject-publish}}", "", False, "3.10", []),
    ("{name: orders, type: quorum}", POLICY.format(definition="{max-length: 5, overflow: reject-publish}", more=""),
     False, "3.10", []),
    ("{name: orders, type: classic, arguments: {x-message-ttl: 1000}}", "", False, "3.10", ["message-ttl"]),
    ("{name: orders, type: quorum}", POLICY.format(definition="{delivery-limit: 3}", more=""), False, "3.10",
     ["delivery-limit"]),
    ("{name: orders, type: quorum}", "", True, "4.0", ["delivery-limit"]),   # the release's default, reached by requeue
    ("{name: orders, type: quorum}", "", False, "4.0", []),
])
def test_the_limits_that_make_the_run_record_drops(queue: str, extra: str, requeue: bool, version: str,
                                                   limits: list[str]) -> None:
    from harness.brokers.rabbitmq.limits import discard_limits

    assert discard_limits(target(scenario(queue, extra, version=version)), requeue) == limits
