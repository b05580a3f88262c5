"""A Kafka node's server.properties: the harness's defaults, the scenario's settings over them, and
what the harness owns (identity, listeners, paths) over both."""

from __future__ import annotations

from typing import Any

from harness.brokers.base import refuse_unsafe_settings


def defaults(nodes: int) -> dict[str, Any]:
    """What every node runs with unless the scenario says otherwise: small, fast to start on 2 cores."""
    return {
        "auto.create.topics.enable": "false",
        "offsets.topic.replication.factor": min(3, nodes),
        "offsets.topic.num.partitions": 6,  # the default 50 takes long to create on 2 cores
        "transaction.state.log.replication.factor": min(3, nodes),
        "transaction.state.log.min.isr": min(2, nodes),
        "group.initial.rebalance.delay.ms": 0,
        # KIP-848 members: the broker holds their session and heartbeat timeouts (45 s and 5 s by
        # default, at least as long by its minimums); the classic members' own are 10 s and 1 s here.
        "group.consumer.min.session.timeout.ms": 10000,
        "group.consumer.session.timeout.ms": 10000,
        "group.consumer.min.heartbeat.interval.ms": 1000,
        "group.consumer.heartbeat.interval.ms": 1000,
        "num.network.threads": 2,
        "num.io.threads": 4,
    }


def render_properties(props: dict[str, str]) -> str:
    """server.properties: `key=value` lines, a backslash written as Java's properties reader wants it
    (a trailing one would otherwise join the next line to this value)."""
    refuse_unsafe_settings("kafka", props)
    return "".join(f"{k}={v.replace(chr(92), chr(92) * 2)}\n" for k, v in props.items())


def render_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def same_setting(reported: str, wanted: str) -> bool:
    """Does a value a broker reports say what was asked? Kafka reports its parsed value back as text:
    `TRUE` as `true`, `1.0` as `1.0` for a DOUBLE, a list without the spaces after its commas."""
    if reported == wanted or reported.lower() == wanted.lower():
        return True
    try:
        return float(reported) == float(wanted)
    except ValueError:
        pass
    return [part.strip() for part in reported.split(",")] == [part.strip() for part in wanted.split(",")]
