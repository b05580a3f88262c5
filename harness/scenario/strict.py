"""The building blocks every part of the scenario model shares, brokers' specs included."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, ConfigDict

from harness.scenario.numbers import FiniteFloat

# Names reach the consumer processes and rabbitmqctl as arguments: never one that reads as an option.
NAME = r"^[A-Za-z0-9._][A-Za-z0-9._-]{0,199}$"


class Strict(BaseModel):
    """Unknown keys are errors: a misspelt setting must never be silently ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


def _one_scalar(value: object) -> object:
    if not isinstance(value, (bool, int, float, str)):
        raise ValueError(f"a setting is one value (a number, true/false or text), not a {type(value).__name__}")
    return value


Scalar = Annotated[bool | int | FiniteFloat | str, BeforeValidator(_one_scalar)]


def whole(value: object) -> int | None:
    """A whole number written as one (2, "2"); None for anything else (true, 2.7, "two")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().lstrip("-").isdigit() and len(value) < 20:
        return int(value)
    return None
