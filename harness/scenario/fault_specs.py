"""`faults:` entries: one model per fault family, told apart by `action`, as the families in
harness.faults register them (the built-in ones and those of installed plugins)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from harness.faults import all_entries
from harness.scenario.strict import tagged_union

if TYPE_CHECKING:
    from harness.faults.base import FaultEntry

    class FaultSpec(FaultEntry):
        """All the type checker knows of an entry: the union itself is built from the registry at import."""

        action: str
else:
    FaultSpec = tagged_union(all_entries().values(), "action")

TOXIC_ACTIONS = tuple(action for action, entry in all_entries().items() if entry.needs_proxies)
"""Actions that act on Toxiproxy proxies: a run with any of them puts a proxy on every client path."""

__all__ = ["TOXIC_ACTIONS", "FaultSpec"]
