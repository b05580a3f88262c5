"""Brokers, one package each, registered by the `kind` users write in `target:`; a broker in another
installed package registers through the `aftershock.brokers` entry point."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from harness.brokers import kafka, rabbitmq  # noqa: F401  (built-in brokers register on import)
from harness.brokers.base import BROKERS, Broker, Cluster, register_broker
from harness.plugins import load_entry_points


def all_brokers() -> dict[str, Broker]:
    """Every registered broker, the built-in ones and those of installed plugins."""
    load_entry_points("aftershock.brokers")
    return BROKERS


def broker(kind: str) -> Broker:
    return all_brokers()[kind]


def node_count(target: Any) -> int:
    """How many nodes a `target:` runs, numbered 1..n (node(i) and partition groups name them)."""
    return broker(target.kind).processes(target)


def provide_definitions(targets: Iterable[Any], say: Callable[[str], None], fetch: bool) -> bool:
    """Make the definitions each target's release brings (Kafka: the settings its jars define)
    available to validation; True when any became available just now, so the scenario is validated
    again against them (and its errors still point at its lines)."""
    fresh = False
    for target in targets:
        definitions = broker(target.kind).definitions
        if definitions is not None:
            fresh = definitions(target, say, fetch) or fresh
    return fresh


__all__ = ["Broker", "Cluster", "all_brokers", "broker", "node_count", "provide_definitions", "register_broker"]
