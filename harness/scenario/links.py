"""Link selectors for network faults: `client->node(2)`, `producer->any`, `consumer(1)->leader(orders, 0)`.

A link is a set of client-to-broker paths; each path is one Toxiproxy proxy, so a toxic on a
link is a toxic on every proxy it names. Resolved when the fault fires (leaders move).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

from harness.scenario.selectors import Selector, parse_selector

_SOURCE = re.compile(r"^(client|producer|consumer)(?:\((\d+)\))?$")
SERVICES = ("inventory",)  # downstream services the sample consumers call


@dataclass(frozen=True)
class Link:
    source: str              # client | producer | consumer
    source_index: int | None  # consumer(i); None = every consumer instance
    dest: Selector | None    # None = any node (or the service)
    service: str | None = None  # a downstream service instead of a broker node

    def __str__(self) -> str:
        src = f"{self.source}({self.source_index})" if self.source_index else self.source
        return f"{src}->{self.service or self.dest or 'any'}"


def parse_link(value: object) -> Link:
    if isinstance(value, Link):
        return value
    text = str(value)
    if "->" not in text:
        raise ValueError(f"{text!r} is not a link: write SOURCE->DEST, e.g. client->node(1), producer->any,"
                         " consumer(1)->leader(orders, 0)")
    left, right = (part.strip() for part in text.split("->", 1))
    match = _SOURCE.match(left)
    if not match or (match.group(2) and match.group(1) != "consumer"):
        raise ValueError(f"link source {left!r}: use client, producer, consumer or consumer(i)")
    index = int(match.group(2)) if match.group(2) else None
    if index == 0:
        raise ValueError(f"link source {left!r}: consumers are numbered from 1")
    if right in SERVICES:
        if match.group(1) == "producer":
            raise ValueError(f"link {text!r}: only consumers call {right}")
        return Link(match.group(1), index, None, right)
    dest = None if right == "any" else parse_selector(right)
    if dest is not None and dest.kind in ("consumer", "relay"):
        raise ValueError(f"link destination {right!r}: a link goes to a broker node, leader, controller, any"
                         f" or a downstream service ({', '.join(SERVICES)})")
    return Link(match.group(1), index, dest)


LinkField = Annotated[Link, BeforeValidator(parse_link), PlainSerializer(str, return_type=str, when_used="json")]
