"""The run's policies as the nodes get them: the scenario's, and the harness's dead-lettering one
merged with the scenario's strongest on the main queue (RabbitMQ applies one policy per queue, the
highest priority's, so a second policy on the same queue would silently displace the first); and
what each run queue should run under, for the read-back that proves they took."""

from __future__ import annotations

import json
from typing import Any

from harness.brokers.rabbitmq.limits import strongest
from harness.brokers.rabbitmq.spec import PolicySpec, RabbitSpec, dead_letter_policy


def dead_lettering(spec: RabbitSpec, queue: str, pattern: str, definition: dict[str, str]) -> PolicySpec:
    """The harness's policy routing the main queue's rejects into dead-letter queue `queue`: it carries
    what the scenario's strongest policy on the main queue says, one priority above it."""
    theirs = strongest(spec.policies, spec.queue.name, spec.queue.type)
    merged: dict[str, Any] = {**(theirs.definition if theirs is not None else {}), **definition}
    return PolicySpec(name=dead_letter_policy(queue), pattern=pattern, definition=merged,
                      priority=theirs.priority + 1 if theirs is not None else 0)


def set_policy_args(policy: PolicySpec) -> list[str]:
    return ["set_policy", "--apply-to", policy.apply_to, "--priority", str(policy.priority), policy.name,
            policy.pattern, json.dumps(policy.definition)]


def expected(policies: dict[str, PolicySpec | None]) -> dict[str, tuple[str | None, dict[str, Any]]]:
    """Per run queue, the (policy name, definition) it must run under."""
    return {name: (p.name, dict(p.definition)) if p is not None else (None, {}) for name, p in policies.items()}


def queue_settings(policies_json: str, queues_json: str) -> dict[str, Any]:
    """Each queue's arguments, the policy it runs under and that policy's definition as stored, from
    `list_policies` and `list_queues name arguments policy` in rabbitmqctl's JSON (list_queues has
    no effective definition before 4.x)."""
    stored = {p["name"]: _table(_json_value(p.get("definition"))) for p in json.loads(policies_json or "[]")}
    return {q["name"]: {"arguments": _table(q.get("arguments")), "policy": q.get("policy") or None,
                        "effective_policy": stored.get(q.get("policy") or "", {})}
            for q in json.loads(queues_json)}


def _json_value(value: object) -> object:
    """A definition rabbitmqctl printed as JSON text inside the JSON (list_policies does)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _table(value: object) -> dict[str, Any]:
    """An AMQP table or policy definition as rabbitmqctl's JSON formatter prints it."""
    if isinstance(value, dict):
        return value
    if isinstance(value, list):   # [[key, type, value], ...] or [[key, value], ...]
        return {row[0]: row[-1] for row in value if isinstance(row, list) and row}
    return {}
