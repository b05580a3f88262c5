"""`producer.properties` and `consumer.properties`: any client property, written as Kafka names it
(`compression.type`, `max.poll.records`), checked against the client library that will run it and
passed to it: kafka-python by its own name for it (dots as underscores), librdkafka as written.

A property the harness sets itself (where clients connect, how messages are tagged, the group) is
refused, and so is one a first-class scenario field sets (`acks` is `producer.acks`): two places
for one setting would leave a reader unsure which one ran.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any

from harness.scenario.broker_settings import check_setting
from harness.scenario.located import LocatedValueError

_CONNECT = "the harness points every client at the run's listeners (or their proxies)"
_TAGGING = "the harness writes each message's id into its key and value and reads it back"
OWNED: dict[str, dict[str, str]] = {
    "producer": {
        "bootstrap.servers": _CONNECT, "key.serializer": _TAGGING, "value.serializer": _TAGGING,
        "transactional.id": "transactions are not run by the sample producer yet",
        "acks": "set producer.acks", "enable.idempotence": "set producer.enable_idempotence",
        "retries": "set producer.retries", "linger.ms": "set producer.linger",
        "max.in.flight.requests.per.connection": "set producer.max_in_flight",
        "request.timeout.ms": "set producer.request_timeout", "delivery.timeout.ms": "set producer.delivery_timeout",
        "message.timeout.ms": "set producer.delivery_timeout",
    },
    "consumer": {
        "bootstrap.servers": _CONNECT, "key.deserializer": _TAGGING, "value.deserializer": _TAGGING,
        "group.id": "set consumer.group", "group.protocol": "set consumer.group_protocol",
        "enable.auto.commit": "set consumer.commit: auto",
        "auto.commit.interval.ms": "set consumer.auto_commit_interval",
        "auto.offset.reset": "set consumer.auto_offset_reset", "session.timeout.ms": "set consumer.session_timeout",
        "heartbeat.interval.ms": "set consumer.heartbeat_interval",
    },
}
# kafka-python settings that take objects, not values a scenario could write
_OBJECTS = {"kafka_client", "selector", "socket_options", "ssl_context", "sasl_oauth_token_provider",
            "partitioner", "metric_reporters", "key_serializer", "value_serializer", "key_deserializer",
            "value_deserializer", "default_offset_commit_callback", "api_version"}


def check_properties(client: str, role: str, properties: Mapping[str, object], where: tuple[str, ...]) -> None:
    """Each property one `client` (kafka-python or confluent-kafka) knows for `role` (producer or
    consumer), of a value it takes; the harness's own and the first-class fields' are refused."""
    for key, value in properties.items():
        check_setting(key, value, (*where, key))
        reason = OWNED[role].get(key)
        if reason is not None:
            raise LocatedValueError(f"{key} is not a {role} property a scenario sets: {reason}", (*where, key))
    if client == "kafka-python":
        _check_kafka_python(role, properties, where)
    else:
        _check_librdkafka(role, properties, where)


def kafka_python_settings(role: str, properties: Mapping[str, object]) -> dict[str, Any]:
    """The properties as kafka-python's keyword arguments, each value of the type its default has
    (a YAML "500" for an int setting becomes 500)."""
    defaults = _kafka_python_defaults(role)
    out: dict[str, Any] = {}
    for key, value in properties.items():
        name = key.replace(".", "_")
        default = defaults[name]
        if isinstance(default, bool):
            out[name] = value if isinstance(value, bool) else str(value).lower() == "true"
        elif isinstance(default, int):
            out[name] = int(str(value))
        elif isinstance(default, float):
            out[name] = float(str(value))
        else:
            out[name] = value
    return out


def _kafka_python_defaults(role: str) -> dict[str, Any]:
    from kafka import KafkaConsumer, KafkaProducer

    defaults = (KafkaProducer if role == "producer" else KafkaConsumer).DEFAULT_CONFIG
    return {name: value for name, value in defaults.items()
            if name not in _OBJECTS and (value is None or isinstance(value, (bool, int, float, str)))}


def _check_kafka_python(role: str, properties: Mapping[str, object], where: tuple[str, ...]) -> None:
    import kafka

    defaults = _kafka_python_defaults(role)
    for key, value in properties.items():
        name = key.replace(".", "_")
        if name not in defaults:
            close = difflib.get_close_matches(name, list(defaults), n=1, cutoff=0.75)
            hint = f" (did you mean {close[0].replace('_', '.')}?)" if close else ""
            raise LocatedValueError(f"{key} is not a {role} property kafka-python {kafka.__version__} knows{hint}",
                                    (*where, key))
        default = defaults[name]
        if isinstance(default, bool):
            if not (isinstance(value, bool) or str(value).lower() in ("true", "false")):
                raise LocatedValueError(f"{key} takes true or false, not {value!r}", (*where, key))
        elif isinstance(default, (int, float)):
            try:
                number = float(str(value))
            except ValueError:
                number = float("nan")
            if isinstance(value, bool) or number != number or (isinstance(default, int) and not number.is_integer()):
                kind = "a whole number" if isinstance(default, int) else "a number"
                raise LocatedValueError(f"{key} takes {kind}, not {value!r}", (*where, key))


def _check_librdkafka(role: str, properties: Mapping[str, object], where: tuple[str, ...]) -> None:
    """librdkafka judges its own configuration: a client made with the properties alone (it
    connects to nothing) refuses an unknown property or value, and warns of one for the other role."""
    import confluent_kafka

    warnings: list[str] = []

    class _Warnings(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if "CONFWARN" in record.getMessage():
                warnings.append(record.getMessage().split("]: ", 1)[-1])

    logger = logging.getLogger(f"aftershock.librdkafka.{role}")
    logger.propagate = False
    handler = _Warnings()
    logger.addHandler(handler)
    version = confluent_kafka.libversion()[0]
    try:
        for key, value in properties.items():
            config: dict[str, Any] = {key: value, "logger": logger}
            try:
                if role == "producer":
                    producer = confluent_kafka.Producer(config)
                    producer.poll(0)
                    producer.flush(0)
                else:
                    consumer = confluent_kafka.Consumer({**config, "group.id": "aftershock-validation"})
                    consumer.poll(0)
                    consumer.close()
            except (confluent_kafka.KafkaException, TypeError, ValueError) as exc:
                error = exc.args[0].str() if exc.args and hasattr(exc.args[0], "str") else str(exc)
                raise LocatedValueError(f"librdkafka {version} refuses {key}: {error}", (*where, key)) from None
            about = [w for w in warnings if f"property {key} " in w]   # not the "no bootstrap.servers" one
            if about:
                raise LocatedValueError(f"librdkafka {version}: {about[0]}", (*where, key))
            warnings.clear()
    finally:
        logger.removeHandler(handler)
