"""The limits a RabbitMQ queue discards acknowledged messages by (length with drop-head, message
TTL, a quorum queue's delivery limit), as the scenario configures them through queue arguments,
policies and the release's defaults: where there are any, the run records what the broker drops so
the checker can tell "dropped by design" from "lost"."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from harness.brokers.rabbitmq.spec import PolicySpec, RabbitSpec



def strongest(policies: Iterable[PolicySpec], queue: str, queue_type: str) -> PolicySpec | None:
    """The policy RabbitMQ applies to the queue: the highest priority of those that reach it."""
    return max((p for p in policies if p.rule.applies_to(queue, queue_type)), key=lambda p: p.priority, default=None)


def _setting(spec: RabbitSpec, key: str) -> object:
    """A queue setting as RabbitMQ resolves it: the argument, else the applied policy's."""
    value = spec.queue.arguments.get(f"x-{key}")
    policy = strongest(spec.policies, spec.queue.name, spec.queue.type)
    return value if value is not None or policy is None else policy.definition.get(key)


def delivery_limit(spec: RabbitSpec) -> int | None:
    """The main quorum queue's delivery limit: its argument's, else its strongest policy's, else the
    release's default (20 from 4.0, measured; none before); None: unlimited."""
    if spec.queue.type != "quorum":
        return None
    value = _setting(spec, "delivery-limit")
    if value is None:
        return spec.release.delivery_limit
    return value if isinstance(value, int) and value >= 0 else None


def discard_limits(spec: RabbitSpec, requeue: bool) -> list[str]:
    """The limits by which the main queue may discard what it acknowledged, as policy keys; the
    release's default delivery limit only where the consumers requeue (nothing else reaches it)."""
    limits: list[str] = []
    if spec.queue.type == "stream":
        return limits   # a stream's retention keeps what a reader has yet to read, by offset
    overflow = _setting(spec, "overflow") or "drop-head"
    if overflow == "drop-head":
        limits += [key for key in ("max-length", "max-length-bytes") if _setting(spec, key) is not None]
    if _setting(spec, "message-ttl") is not None:
        limits.append("message-ttl")
    configured = _setting(spec, "delivery-limit") is not None
    if spec.queue.type == "quorum" and (configured or (requeue and delivery_limit(spec) is not None)):
        limits.append("delivery-limit")
    return limits
