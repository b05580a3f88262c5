"""Kafka producer users (kafka-python), asynchronous sends answered by callbacks."""

from __future__ import annotations

from typing import Any

from kafka import KafkaProducer

from harness.load.ledgered_user import LedgeredUser


def producer_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Scenario producer section -> kafka-python settings."""
    spec = config["producer"]
    settings: dict[str, Any] = {
        "acks": spec["acks"] if spec["acks"] == "all" else int(spec["acks"]),
        "enable_idempotence": spec["enable_idempotence"],
        "max_in_flight_requests_per_connection": spec["max_in_flight"],
        "linger_ms": int(spec["linger"] * 1000),
        "request_timeout_ms": int(spec["request_timeout"] * 1000),
        "delivery_timeout_ms": int(spec["delivery_timeout"] * 1000),
        "max_block_ms": 5000,
    }
    if spec.get("retries") is not None:
        settings["retries"] = spec["retries"]
    return settings


class KafkaProducerUser(LedgeredUser):
    abstract = False

    def on_start(self) -> None:
        self.producer = KafkaProducer(
            bootstrap_servers=self.config["target"]["bootstrap"].split(","),
            client_id=f"aftershock-producer-{self.producer_no}",
            **producer_settings(self.config),
        )

    def send(self, message_id: int, sent_ns: int, payload: bytes) -> None:
        future = self.producer.send(self.config["destination"], value=payload, key=str(message_id).encode())
        future.add_callback(lambda md: self.acked(message_id, sent_ns, md.partition, md.offset))
        future.add_errback(lambda exc: self.failed(message_id, sent_ns, exc))

    def finish(self, timeout: float) -> None:
        producer = getattr(self, "producer", None)
        if producer is not None:
            try:
                producer.flush(timeout=timeout)
            finally:
                producer.close(timeout=5)
