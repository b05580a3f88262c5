"""Fault families, registered by the `action` users write in `faults:`; a family in another installed
package registers through the `aftershock.faults` entry point."""

from __future__ import annotations

from harness.faults import partition, process, toxics  # noqa: F401  (built-in families register on import)
from harness.faults.base import ENTRIES, FAULTS, Fault, FaultEntry, FaultEnv, register_entry, register_fault
from harness.plugins import load_entry_points


def all_entries() -> dict[str, type[FaultEntry]]:
    """action -> entry model, of every registered family."""
    load_entry_points("aftershock.faults")
    return ENTRIES


__all__ = ["FAULTS", "Fault", "FaultEntry", "FaultEnv", "all_entries", "register_entry", "register_fault"]
