"""`faults:` entries: one model per fault family, told apart by `action`, as the families in
harness.faults register them (the built-in ones and those of installed plugins)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Union

from pydantic import Field

from harness.faults import all_entries
from harness.faults.partition import PartitionFault
from harness.faults.process import ProcessFault
from harness.faults.toxics import ToxicFault


def _fault_spec() -> object:
    entries = tuple(dict.fromkeys(all_entries().values()))   # each family once, in registration order
    if len(entries) == 1:
        return entries[0]
    return Annotated[Union[entries], Field(discriminator="action")]  # noqa: UP007 - a run-time tuple has no | spelling


if TYPE_CHECKING:
    from harness.faults.base import FaultEntry

    class FaultSpec(FaultEntry):
        """All the type checker knows of an entry: the union itself is built from the registry at import."""

        action: str
else:
    FaultSpec = _fault_spec()

TOXIC_ACTIONS = tuple(action for action, entry in all_entries().items() if entry.needs_proxies)
"""Actions that act on Toxiproxy proxies: a run with any of them puts a proxy on every client path."""

__all__ = ["TOXIC_ACTIONS", "FaultSpec", "PartitionFault", "ProcessFault", "ToxicFault"]
