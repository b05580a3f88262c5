"""Producer user classes (imported only inside the load process), by the key the orchestrator
writes in load-config.json: a broker's kind (its own default user), a client a broker offers
besides (`producer: {client: ...}`), or `outbox` (any broker: the relay publishes)."""

from __future__ import annotations

import importlib

from harness.brokers import all_brokers
from harness.load.ledgered_user import LedgeredUser

OUTBOX_USER = "harness.load.outbox_user:OutboxUser"


def user_path(key: str) -> str:
    """"module:Class" of the user `key` names."""
    if key == "outbox":
        return OUTBOX_USER
    brokers = all_brokers()
    if key in brokers:
        return next(iter(brokers[key].users.values()))
    for broker in brokers.values():
        if key in broker.users:
            return broker.users[key]
    offered = sorted({client for b in brokers.values() for client in b.users})
    raise KeyError(f"no producer user {key!r}: brokers {', '.join(brokers)} offer {', '.join(offered)}")


def user_class(key: str) -> type[LedgeredUser]:
    module, _, name = user_path(key).partition(":")
    cls: type[LedgeredUser] = getattr(importlib.import_module(module), name)
    return cls
