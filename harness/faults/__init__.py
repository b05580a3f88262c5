"""Fault kinds, registered by the `action` users write in `faults:`."""

from harness.faults import partition, process, toxics  # noqa: F401  (registration)
from harness.faults.base import FAULTS, Fault, FaultEnv, register_fault

__all__ = ["FAULTS", "Fault", "FaultEnv", "register_fault"]
