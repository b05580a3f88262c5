"""Scenario producer settings -> Kafka client settings (kafka-python and librdkafka), for every
Kafka producer the harness runs.

Its own module, free of Locust: importing Locust monkey-patches the process with gevent, which a
plain threaded client (the outbox relay) must never get.
"""

from __future__ import annotations

from typing import Any

from harness.brokers.kafka.client_properties import kafka_python_settings

# kafka-python backs off up to 30 s between attempts to reach a broker it lost; the Java client,
# which the users' services run, stops at 1 s (reconnect.backoff.max.ms). After a partition heals
# or a node restarts, the harness's clients must come back as fast as the services would.
RECONNECT_BACKOFF_MAX_MS = 1000
# How long a send may wait for room in the client's buffer before it fails (both clients).
MAX_BLOCK_MS = 5000


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
        "max_block_ms": MAX_BLOCK_MS,
        "reconnect_backoff_max_ms": RECONNECT_BACKOFF_MAX_MS,
    }
    if spec.get("retries") is not None:
        settings["retries"] = spec["retries"]
    return {**settings, **kafka_python_settings("producer", spec.get("properties") or {})}


def librdkafka_settings(config: dict[str, Any]) -> dict[str, Any]:
    """Scenario producer section -> librdkafka (confluent-kafka) settings, the same meaning as
    `producer_settings`. librdkafka's own batching defaults stay: that is the client users run."""
    spec = config["producer"]
    settings: dict[str, Any] = {
        "bootstrap.servers": config["target"]["bootstrap"],
        "acks": str(spec["acks"]),
        "enable.idempotence": spec["enable_idempotence"],
        "max.in.flight.requests.per.connection": spec["max_in_flight"],
        "linger.ms": round(spec["linger"] * 1000, 3),   # librdkafka takes fractions of a millisecond
        "request.timeout.ms": int(spec["request_timeout"] * 1000),
        "delivery.timeout.ms": int(spec["delivery_timeout"] * 1000),   # alias of message.timeout.ms
        "reconnect.backoff.max.ms": RECONNECT_BACKOFF_MAX_MS,
        "partitioner": "murmur2_random",   # the Java client's (and kafka-python's) key -> partition mapping
    }
    if spec.get("retries") is not None:
        settings["retries"] = spec["retries"]
    return {**settings, **(spec.get("properties") or {})}
