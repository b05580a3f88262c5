"""The building blocks every part of the scenario model shares, brokers' specs included."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

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


def tagged_union(models: Iterable[type[BaseModel]], tag: str) -> object:
    """The models a registry holds (each once, in registration order) as one union told apart by
    `tag`, for a field whose choices plugins add (`target:` by kind, `faults:` by action)."""
    unique = tuple(dict.fromkeys(models))
    if len(unique) == 1:
        return unique[0]
    return Annotated[Union[unique], Field(discriminator=tag)]  # noqa: UP007 - a run-time tuple has no | spelling
