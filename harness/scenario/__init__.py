"""The scenario: one validated model, loaded from YAML with line numbers kept for errors.

Its names are handed on lazily: the brokers' own specs import the building blocks of this package
(strict, located, numbers), and the model imports the brokers' registry, so importing the package
must not import the model."""

from __future__ import annotations

from typing import Any

__all__ = ["Scenario", "load_scenario"]


def __getattr__(name: str) -> Any:
    if name == "Scenario":
        from harness.scenario.model import Scenario

        return Scenario
    if name == "load_scenario":
        from harness.scenario.loader import load_scenario

        return load_scenario
    raise AttributeError(f"module 'harness.scenario' has no attribute {name!r}")
