"""Kafka producer users (kafka-python), asynchronous sends answered by callbacks."""

from __future__ import annotations

import kafka
from kafka import KafkaProducer

from harness.brokers.kafka.client_settings import producer_settings
from harness.load.ledgered_user import LedgeredUser


class KafkaProducerUser(LedgeredUser):
    abstract = False

    @classmethod
    def client_versions(cls) -> dict[str, str]:
        return {"producer": "kafka-python", "kafka-python": kafka.__version__}

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
