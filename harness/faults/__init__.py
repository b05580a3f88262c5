"""Fault kinds, registered by the `action` users write in `faults:`."""

from harness.faults.base import FAULTS, Fault, FaultContext, register_fault
from harness.faults import process  # noqa: F401  (registers kill, stop, pause, restart)

__all__ = ["FAULTS", "Fault", "FaultContext", "register_fault"]
