"""`faults:` entries: one model per fault family, told apart by `action`, as the families in
harness.faults register them (the built-in ones and those of installed plugins)."""

from __future__ import annotations

from typing import Annotated, Union

from pydantic import Field

from harness.faults import all_entries
from harness.faults.partition import PartitionFault
from harness.faults.process import ProcessFault
from harness.faults.toxics import ToxicFault


def _fault_spec() -> object:
    entries = tuple(dict.fromkeys(all_entries().values()))   # each family once, in registration order
    if len(entries) == 1:
        return entries[0]
    return Annotated[Union[entries], Field(discriminator="action")]  # type: ignore[valid-type]  # built from the registry at import


FaultSpec = _fault_spec()
TOXIC_ACTIONS = tuple(action for action, entry in all_entries().items() if entry.needs_proxies)
"""Actions that act on Toxiproxy proxies: a run with any of them puts a proxy on every client path."""

__all__ = ["TOXIC_ACTIONS", "FaultSpec", "PartitionFault", "ProcessFault", "ToxicFault"]
