"""The scenario: one validated model, loaded from YAML with line numbers kept for errors."""

from harness.scenario.loader import load_scenario
from harness.scenario.model import Scenario

__all__ = ["Scenario", "load_scenario"]
