"""The run's queues, declared over AMQP at one node: the main queue, and a dead-letter queue with
the policy that routes the main queue's rejects into it."""

from __future__ import annotations

from typing import Any

from harness.brokers.rabbitmq.spec import QueueSpec


def _connection(endpoint: tuple[str, int]) -> Any:
    import pika  # loaded only where a cluster runs

    return pika.BlockingConnection(pika.ConnectionParameters(
        host=endpoint[0], port=endpoint[1], connection_attempts=3, retry_delay=1))


def queue_arguments(queue: QueueSpec) -> dict[str, object]:
    """What the queue is declared with, by the harness and by every consumer alike (a declaration
    with other arguments is refused as inequivalent)."""
    return {**queue.arguments, **({} if queue.type == "classic" else {"x-queue-type": queue.type})}


def declare_queue(endpoint: tuple[str, int], queue: QueueSpec) -> None:
    with _connection(endpoint) as conn:
        conn.channel().queue_declare(queue.name, durable=queue.durable, arguments=queue_arguments(queue))


def declare_dead_letter_queue(endpoint: tuple[str, int], main: QueueSpec, name: str,
                              at_least_once: bool = True) -> tuple[str, dict[str, str]]:
    """A dead-letter queue (quorum) behind its own exchange; returns the policy pattern and definition
    that make the main queue dead-letter into it. A policy, not x-arguments: it applies to the queue
    already declared, and the consumers' declarations stay equivalent. Quorum queues dead-letter
    at-least-once only with overflow reject-publish (RabbitMQ 3.10+), so the policy sets both; a
    record of what a limit drops asks for neither (reject-publish would stop the dropping it records)."""
    exchange = f"{name}.dlx"
    with _connection(endpoint) as conn:
        channel = conn.channel()
        channel.exchange_declare(exchange, exchange_type="fanout", durable=True)
        channel.queue_declare(name, durable=True, arguments={"x-queue-type": "quorum"})
        channel.queue_bind(name, exchange)
    definition = {"dead-letter-exchange": exchange}
    if main.type == "quorum" and at_least_once:
        definition |= {"dead-letter-strategy": "at-least-once", "overflow": "reject-publish"}
    return queue_pattern(main.name), definition


def queue_pattern(name: str) -> str:
    """A policy pattern matching exactly the queue `name`."""
    return "^" + name.replace(".", "\\.") + "$"
