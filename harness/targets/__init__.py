"""Broker targets, registered by the `kind` users write in `target:`."""

from harness.targets.base import TARGETS, Target, register_target
from harness.targets import kafka, rabbitmq  # noqa: F401  (registers "kafka", "rabbitmq")

__all__ = ["TARGETS", "Target", "register_target"]
