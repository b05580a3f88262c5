"""RabbitMQ producer users (pika): one connection each, publisher confirms when asked,
reconnecting to the next node when theirs fails."""

from __future__ import annotations

from typing import Any

import pika
from pika.exceptions import AMQPError, NackError, UnroutableError

from harness.brokers.rabbitmq.confirms import ConfirmTimeout, publish_within
from harness.load.ledgered_user import LedgeredUser


class RabbitProducerUser(LedgeredUser):
    """With confirms, only a broker-confirmed publish is an ack; a nack, a return (mandatory,
    unroutable), a confirm later than confirm_timeout or a lost connection is an error. Without
    confirms a publish that returned is all the producer knows, so it is counted as acknowledged:
    exactly the trust the loss check tests."""

    abstract = False

    @classmethod
    def client_versions(cls) -> dict[str, str]:
        return {"producer": "pika", "pika": pika.__version__}

    def on_start(self) -> None:
        self.connection: pika.BlockingConnection | None = None
        self.channel: Any = None
        self.next_broker = self.producer_no

    def _connect(self) -> None:
        brokers = self.config["target"]["brokers"]
        host, port = brokers[self.next_broker % len(brokers)].rsplit(":", 1)
        self.next_broker += 1
        params = pika.ConnectionParameters(host=host, port=int(port), socket_timeout=5, blocked_connection_timeout=10,
                                           heartbeat=10,
                                           client_properties={"connection_name": f"producer-{self.producer_no}"})
        self.connection = pika.BlockingConnection(params)
        self.channel = self.connection.channel()
        if self.config["producer"]["confirms"]:
            self.channel.confirm_delivery()

    def _drop(self) -> None:
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except AMQPError:
                pass

    def send(self, message_id: int, sent_ns: int, payload: bytes) -> None:
        spec = self.config["producer"]
        if self.channel is None:
            try:
                self._connect()
            except AMQPError:
                self._drop()
                raise
        props = pika.BasicProperties(delivery_mode=2 if spec["persistent"] else 1, message_id=str(message_id))
        try:
            publish_within(self.connection, spec.get("confirm_timeout"), lambda: self.channel.basic_publish(
                "", self.config["destination"], payload, props, mandatory=spec["mandatory"]))
        except (NackError, UnroutableError):
            raise  # the channel stays usable
        except ConfirmTimeout:
            self._abandon()  # mid-wait: the connection's state is unknown, so it is cut, not closed
            raise
        except AMQPError:
            self._drop()  # connection or channel lost: the outcome is unknown, retried on another node next time
            raise
        self.acked(message_id, sent_ns, 0, None)

    def _abandon(self) -> None:
        """Cut the connection without the close handshake (whose answer a stalled broker would not send)."""
        connection, self.connection, self.channel = self.connection, None, None
        if connection is not None:
            connection._impl._adapter_disconnect_stream()   # noqa: SLF001 - pika's adapter interface

    def finish(self, timeout: float) -> None:
        self._drop()
