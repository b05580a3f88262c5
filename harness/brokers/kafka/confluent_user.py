"""Kafka producer users on confluent-kafka (librdkafka): the faster client path, chosen with
`producer: {client: confluent-kafka}`. librdkafka sends on its own native threads; answers reach
Python only inside `poll()`, which one greenlet calls without ever blocking the gevent hub."""

from __future__ import annotations

import time
from typing import Any, ClassVar

import confluent_kafka
import gevent
from confluent_kafka import KafkaException, Producer

from harness.brokers.kafka.client_settings import MAX_BLOCK_MS, librdkafka_settings
from harness.load.ledgered_user import LedgeredUser

POLL_IDLE = 0.001      # seconds the poller sleeps when no answer was waiting
PURGE_SETTLE = 1.0     # seconds to serve the answers a purge produces


class SharedProducer:
    """One librdkafka producer for every user of the load process, as a service shares one producer
    among its threads: librdkafka's intended use, whose batches fill where N clients would each send
    small ones (measured, 4 users, 3 brokers on 2 cores: 6 k acked msg/s with a client per user,
    16-28 k/s shared)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.producer = Producer(settings)
        self.users = 0
        self.poller = gevent.spawn(self._serve_answers)

    def _serve_answers(self) -> None:
        """poll(timeout) would block the whole process (a C call never yields to gevent): poll
        without waiting, then yield."""
        while True:
            served = self.producer.poll(0)
            gevent.sleep(0 if served else POLL_IDLE)

    def drain(self, timeout: float) -> None:
        """Wait for every answer until `timeout`; then purge what is left, so each send still
        outstanding is answered with an error (one already in flight that the broker did write is
        found by the consumers and counted as recovered)."""
        deadline = time.monotonic() + timeout
        while len(self.producer) and time.monotonic() < deadline:
            gevent.sleep(POLL_IDLE * 10)
        if len(self.producer):
            self.producer.purge()
            settle = time.monotonic() + PURGE_SETTLE
            while len(self.producer) and time.monotonic() < settle:
                gevent.sleep(POLL_IDLE * 10)

    def leave(self) -> None:
        """The last user to leave stops the poller, serving what came after its last round."""
        self.users -= 1
        if self.users == 0:
            self.poller.kill()
            self.producer.poll(0)


class ConfluentProducerUser(LedgeredUser):
    """Every produce() is answered by a delivery callback (ack or error); a full local queue is
    back-pressure, not an error: the send waits for room as kafka-python's send() blocks."""

    abstract = False
    shared: ClassVar[SharedProducer | None] = None

    @classmethod
    def client_versions(cls) -> dict[str, str]:
        # str(): its stubs call __version__ a tuple; at run time it is the version string already
        return {"producer": "confluent-kafka", "confluent-kafka": str(confluent_kafka.__version__),
                "librdkafka": confluent_kafka.libversion()[0]}

    def on_start(self) -> None:
        if ConfluentProducerUser.shared is None:
            ConfluentProducerUser.shared = SharedProducer(
                {**librdkafka_settings(self.config), "client.id": "aftershock-producer"})
        shared = ConfluentProducerUser.shared
        shared.users += 1
        self.producer = shared.producer

    def send(self, message_id: int, sent_ns: int, payload: bytes) -> None:
        def answered(err: Any, msg: Any) -> None:
            if err is None:
                offset = msg.offset()
                self.acked(message_id, sent_ns, msg.partition(), offset if offset >= 0 else None)
            else:
                self.failed(message_id, sent_ns, KafkaException(err))

        deadline = time.monotonic() + MAX_BLOCK_MS / 1000
        while True:
            try:
                self.producer.produce(self.config["destination"], value=payload, key=str(message_id).encode(),
                                      on_delivery=answered)
                return
            except BufferError:
                if time.monotonic() > deadline:
                    raise   # no room for MAX_BLOCK_MS: a real failure, ledgered as an error
            try:
                gevent.sleep(POLL_IDLE)   # the poller serves answers, which frees room
            except gevent.GreenletExit:
                # Locust stopped this user while it waited: the message never left, so say so.
                self.failed(message_id, sent_ns, BufferError("stopped while the local queue was full"))
                raise

    def finish(self, timeout: float) -> None:
        if getattr(self, "producer", None) is None or self.shared is None:
            return   # never started
        try:
            self.shared.drain(timeout)
        finally:
            self.shared.leave()
