"""Issue 16 point 3: producer.confirm_timeout on a real node. A publisher whose node stops answering
(SIGSTOP) waits for its confirm only as long as the scenario says, then gives the publish up as
failed; without a timeout the same wait lasts until the connection itself fails."""

from __future__ import annotations

import time
from pathlib import Path

import pika
import pytest

from harness.brokers.rabbitmq.cluster import RabbitCluster
from harness.brokers.rabbitmq.confirms import ConfirmTimeout, publish_within
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.runtimes.local import LocalRuntime

pytestmark = pytest.mark.usefixtures("rabbitmq_available")


def test_a_confirm_that_does_not_come_is_given_up_after_confirm_timeout(tmp_path: Path) -> None:
    with RabbitCluster(RabbitSpec(kind="rabbitmq", nodes=1), LocalRuntime("as-confirm-timeout"), tmp_path) as cluster:
        host, port = cluster.endpoints[1]
        connection = pika.BlockingConnection(pika.ConnectionParameters(host=host, port=port, heartbeat=30))
        channel = connection.channel()
        channel.confirm_delivery()

        def publish() -> None:
            channel.basic_publish("", "orders", b"m", pika.BasicProperties(delivery_mode=2), mandatory=True)

        publish_within(connection, 2.0, publish)          # a live node confirms well within it
        cluster.nodes[1].pause()
        try:
            started = time.monotonic()
            with pytest.raises(ConfirmTimeout, match="no confirm within 1.5s"):
                publish_within(connection, 1.5, publish)
            waited = time.monotonic() - started
        finally:
            cluster.nodes[1].resume()
        assert 1.4 <= waited < 4.0, f"gave up after {waited:.1f}s"
        connection._impl._adapter_disconnect_stream()   # noqa: SLF001 - as the producer abandons it
