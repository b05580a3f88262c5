"""Queue arguments and policies as a RabbitMQ release takes them: every key one the release itself
lists for that queue type (capabilities.json), every value of the type the broker will parse, and
never one that would quietly undo the harness's dead-lettering. RabbitMQ declares a queue with an
unknown x-argument and stores a policy key its queue type ignores without a word: here both stop
the scenario at its line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from harness.brokers.rabbitmq.capabilities import Capabilities
from harness.brokers.rabbitmq.dist import MIRRORING
from harness.scenario.located import LocatedValueError

Where = tuple[str | int, ...]

# policy key (an x-argument is "x-" + key) -> (lowest, highest) for whole numbers
_WHOLE: dict[str, tuple[int, int]] = {
    "max-length": (0, 2**63), "max-length-bytes": (0, 2**63), "message-ttl": (0, 2**32), "expires": (1, 2**32),
    "delivery-limit": (-1, 2**31), "max-in-memory-length": (0, 2**63), "max-in-memory-bytes": (0, 2**63),
    "max-priority": (1, 255), "queue-version": (1, 2), "quorum-initial-group-size": (1, 2**31),
    "initial-cluster-size": (1, 2**31), "target-group-size": (1, 2**31), "stream-max-segment-size-bytes": (1, 2**32),
    "stream-filter-size-bytes": (16, 255), "consumer-timeout": (1, 2**32), "ha-sync-batch-size": (1, 2**31),
}
_CHOICES: dict[str, tuple[str, ...]] = {
    "dead-letter-strategy": ("at-most-once", "at-least-once"),
    "queue-mode": ("default", "lazy"),
    "queue-leader-locator": ("client-local", "balanced"),
    "queue-master-locator": ("min-masters", "client-local", "random"),
    "ha-mode": ("all", "exactly", "nodes"),
    "ha-sync-mode": ("manual", "automatic"),
    "ha-promote-on-shutdown": ("when-synced", "always"),
    "ha-promote-on-failure": ("when-synced", "always"),
}
_OVERFLOW = {"classic": ("drop-head", "reject-publish", "reject-publish-dlx"),
             "quorum": ("drop-head", "reject-publish")}
_BOOLEAN = ("single-active-consumer",)
_AGE = re.compile(r"^[0-9]+[YMDhms]$")

OWNED_ARGUMENT = {"x-queue-type": "the queue's type is queue.type: set it there"}
DEAD_LETTERING = ("the harness declares the dead-letter queue, routes the run's rejects into it and reads it:"
                  " set consumer.dead_letter: {queue: NAME} (a dead-letter exchange the run does not read would"
                  " drop what it is given unseen)")
DEAD_LETTER_KEYS = ("dead-letter-exchange", "dead-letter-routing-key", "dead-letter-strategy")


@dataclass(frozen=True)
class PolicyRule:
    """A policy as the checks see it: which queue names it matches, and its definition."""

    name: str
    pattern: str
    apply_to: str
    priority: int
    definition: Mapping[str, object]

    def applies_to(self, queue: str, queue_type: str) -> bool:
        kinds = {"queues": None, "all": None, "classic_queues": "classic", "quorum_queues": "quorum",
                 "streams": "stream"}
        if self.apply_to not in kinds:
            return False
        kind = kinds[self.apply_to]
        return (kind is None or kind == queue_type) and re.search(self.pattern, queue) is not None


def check_arguments(caps: Capabilities, series: str, queue_type: str, arguments: Mapping[str, object],
                    nodes: int, where: Where) -> None:
    """Every argument one the release lists for the queue type, every value of its type."""
    known = caps.queue_arguments[queue_type]
    for key, value in arguments.items():
        at = (*where, key)
        if key in OWNED_ARGUMENT:
            raise LocatedValueError(f"{key} is set by the harness: {OWNED_ARGUMENT[key]}", at)
        if key.removeprefix("x-") in DEAD_LETTER_KEYS:
            raise LocatedValueError(f"{key}: {DEAD_LETTERING}", at)
        if key not in known:
            others = [t for t in caps.queue_arguments if t != queue_type and key in caps.queue_arguments[t]]
            if others:
                raise LocatedValueError(f"{key} is not an argument RabbitMQ {series} takes for {queue_type} queues"
                                        f" (only for {' and '.join(others)} queues): remove it", at)
            raise LocatedValueError(f"{key} is not an argument RabbitMQ {series} knows for {queue_type} queues"
                                    f"{_suggest(key, known)}; it would be ignored without a word", at)
        check_value(key.removeprefix("x-"), key, value, queue_type, at)
        if key in ("x-quorum-initial-group-size", "x-initial-cluster-size") and isinstance(value, int) \
                and value > nodes:
            raise LocatedValueError(f"{key} {value} is more than the cluster's {nodes} nodes: RabbitMQ would"
                                    f" place {nodes} members; lower it or add nodes", at)


def check_policy(caps: Capabilities, series: str, policy: PolicyRule, queues: Mapping[str, str],
                 where: Where) -> None:
    """A policy the release takes: its apply-to, its keys and their values, and no key the queue
    types it reaches in this run ignore."""
    if policy.apply_to not in caps.apply_to:
        raise LocatedValueError(f"apply_to {policy.apply_to!r}: RabbitMQ {series} takes"
                                f" {', '.join(caps.apply_to)}", (*where, "apply_to"))
    try:
        re.compile(policy.pattern)
    except re.error as exc:
        raise LocatedValueError(f"pattern {policy.pattern!r} is not a regular expression: {exc}",
                                (*where, "pattern")) from None
    reached = {name: kind for name, kind in queues.items() if policy.applies_to(name, kind)}
    for key, value in policy.definition.items():
        at = (*where, "definition", key)
        if key.startswith("ha-") and key not in caps.policy_keys:
            raise LocatedValueError(f"{key} on RabbitMQ {series}: {MIRRORING}", at)
        if key not in caps.policy_keys:
            raise LocatedValueError(f"{key} is not a policy key RabbitMQ {series} knows"
                                    f"{_suggest(key, caps.policy_keys)}", at)
        if key in DEAD_LETTER_KEYS[:2]:
            raise LocatedValueError(f"{key}: {DEAD_LETTERING}", at)
        for name, kind in reached.items():
            if key in caps.unsupported_policies[kind]:
                raise LocatedValueError(f"{key}: {kind} queues ignore it, and the policy reaches the run's {kind}"
                                        f" queue {name}: remove it, or narrow pattern/apply_to", at)
        for kind in sorted(set(reached.values())):
            check_value(key, key, value, kind, at)


def check_dead_lettering(queue: str, queue_type: str, arguments: Mapping[str, object],
                         policies: Sequence[PolicyRule], where: Where) -> None:
    """With the harness's dead-lettering, a quorum queue must keep reject-publish (at-least-once
    dead-lettering falls back to at-most-once, with a warning only in the log, otherwise)."""
    if queue_type != "quorum":
        return
    overflow = arguments.get("x-overflow")
    if overflow not in (None, "reject-publish"):
        raise LocatedValueError(f"x-overflow {overflow}: quorum queues dead-letter at-least-once only with"
                                " overflow reject-publish (otherwise at-most-once, losing dead letters): remove it",
                                (*where, "queue", "arguments", "x-overflow"))
    for i, policy in enumerate(policies):
        value = policy.definition.get("overflow")
        if policy.applies_to(queue, queue_type) and value not in (None, "reject-publish"):
            raise LocatedValueError(f"overflow {value}: quorum queues dead-letter at-least-once only with overflow"
                                    f" reject-publish, and policy {policy.name} reaches queue {queue}: remove it",
                                    (*where, "policies", i, "definition", "overflow"))


def check_value(key: str, shown: str, value: object, queue_type: str, where: Where) -> None:
    """A value of the type RabbitMQ parses for `key` (a policy key; `shown` as the scenario wrote it)."""
    if key in _WHOLE:
        low, high = _WHOLE[key]
        if isinstance(value, bool) or not isinstance(value, int):
            quoted = isinstance(value, str) and value.strip().isdigit()
            hint = ": write it without quotes (RabbitMQ refuses a number sent as text)" if quoted else ""
            raise LocatedValueError(f"{shown} takes a whole number, not {value!r}{hint}", where)
        if not low <= value <= high:
            raise LocatedValueError(f"{shown} {value} is out of range ({low} to {high})", where)
    elif key in _CHOICES or key == "overflow":
        choices = _OVERFLOW.get(queue_type, ()) if key == "overflow" else _CHOICES[key]
        if value not in choices:
            raise LocatedValueError(f"{shown} {value!r}: {queue_type + ' queues take' if key == 'overflow' else 'use'}"
                                    f" {', '.join(choices)}", where)
    elif key in _BOOLEAN:
        if not isinstance(value, bool):
            raise LocatedValueError(f"{shown} takes true or false, not {value!r}", where)
    elif key == "max-age" and not (isinstance(value, str) and _AGE.match(value)):
        raise LocatedValueError(f"{shown} {value!r}: a number and a unit, Y M D h m or s (e.g. 7D, 1h)", where)


def _suggest(key: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(names), n=1, cutoff=0.7)
    return f" (did you mean {close[0]}?)" if close else ""
