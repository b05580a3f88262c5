"""Numbers as a scenario writes them: a whole number is never `true`, and a real number is never
`true`, NaN or infinite (NaN compares false with everything, so a bound or time of NaN decides nothing)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AllowInfNan, BeforeValidator


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):
        raise ValueError(f"{str(value).lower()} is not a number: write a number")
    return value


Whole = Annotated[int, BeforeValidator(_not_a_boolean)]
FiniteFloat = Annotated[float, AllowInfNan(False), BeforeValidator(_not_a_boolean)]
