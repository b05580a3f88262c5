"""Producer user classes by target kind, by a Kafka client other than the default (`producer:
{client: ...}`), or `outbox` (imported only inside the load process)."""

from __future__ import annotations

import importlib

from harness.load.ledgered_user import LedgeredUser

USERS: dict[str, str] = {
    "kafka": "harness.load.kafka_user:KafkaProducerUser",                    # kafka-python, the default
    "confluent-kafka": "harness.load.confluent_user:ConfluentProducerUser",   # librdkafka, faster
    "rabbitmq": "harness.load.rabbitmq_user:RabbitProducerUser",
    "outbox": "harness.load.outbox_user:OutboxUser",   # any broker: the relay publishes
}


def user_class(kind: str) -> type[LedgeredUser]:
    module, _, name = USERS[kind].partition(":")
    return getattr(importlib.import_module(module), name)
