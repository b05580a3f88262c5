"""Fault target selectors: `node(2)`, `leader(orders, 0)`, `controller`, `random`, `consumer(1)`, `relay`.

Parsed at load time so typos fail before a cluster starts; resolved to a concrete process only
when the fault fires (a leader is whoever leads at that moment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

# name -> (min args, max args, help)
_FORMS: dict[str, tuple[int, int, str]] = {
    "node": (1, 1, "node(i), i from 1"),
    "leader": (1, 2, "leader(topic, partition) for Kafka, leader(queue) for RabbitMQ"),
    "controller": (0, 0, "controller (the active KRaft controller)"),
    "random": (0, 0, "random (a broker node, chosen with the scenario seed)"),
    "consumer": (1, 1, "consumer(i), i from 1"),
    "relay": (0, 0, "relay (the outbox relay process)"),
}
_SYNTAX = re.compile(r"^\s*([a-z_]+)\s*(?:\((.*)\))?\s*$")


@dataclass(frozen=True)
class Selector:
    kind: str
    args: tuple[str, ...] = ()

    def __str__(self) -> str:
        return f"{self.kind}({', '.join(self.args)})" if self.args else self.kind

    @property
    def index(self) -> int:
        """The 1-based index of node(i) / consumer(i)."""
        return int(self.args[0])


def parse_selector(value: object) -> Selector:
    if isinstance(value, Selector):
        return value
    match = _SYNTAX.match(str(value))
    forms = "; ".join(help for _, _, help in _FORMS.values())
    if not match or match.group(1) not in _FORMS:
        raise ValueError(f"unknown target {value!r}: use one of {forms}")
    kind, raw = match.group(1), match.group(2)
    args = tuple(a.strip() for a in raw.split(",")) if raw and raw.strip() else ()
    low, high, help = _FORMS[kind]
    if not low <= len(args) <= high or any(not a for a in args):
        raise ValueError(f"{value!r}: write {help}")
    if kind in ("node", "consumer") and not (args[0].isdigit() and int(args[0]) >= 1):
        raise ValueError(f"{value!r}: the index must be a whole number from 1")
    if kind == "leader" and len(args) == 2 and not args[1].isdigit():
        raise ValueError(f"{value!r}: the partition must be a whole number from 0")
    return Selector(kind, args)


SelectorField = Annotated[Selector, BeforeValidator(parse_selector),
                          PlainSerializer(str, return_type=str, when_used="json")]
