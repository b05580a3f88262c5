"""Durations as users write them (`500ms`, `15s`, `2m`, `1h`, or a bare number of seconds)."""

from __future__ import annotations

import math
import re
from typing import Annotated

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
_PATTERN = re.compile(r"^\s*(\d{1,12}(?:\.\d{1,9})?)\s*(ms|s|m|h)?\s*$")
MAX_DURATION = 30 * 24 * 3600.0
"""The longest duration a scenario may write (30 days): longer is a typo, and sums of durations stay finite."""

def parse_duration(value: object) -> float:
    """Seconds as a finite float from 0 to MAX_DURATION; raises ValueError with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("a duration is a number with a unit, e.g. 500ms, 15s, 2m")
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a duration: write a finite number with a unit, e.g. 500ms, 15s, 2m")
        if abs(value) > MAX_DURATION:
            raise ValueError(f"{value / 3600:g}h is longer than the most a scenario may write"
                             f" ({MAX_DURATION / 3600:g}h)")
        seconds = float(value)
    else:
        match = _PATTERN.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration: write e.g. 500ms, 15s, 2m or 1h")
        seconds = float(match.group(1)) * _UNITS[match.group(2) or "s"]
    if seconds < 0:
        raise ValueError("a duration cannot be negative")
    if seconds > MAX_DURATION:
        raise ValueError(f"{seconds / 3600:g}h is longer than the most a scenario may write"
                         f" ({MAX_DURATION / 3600:g}h)")
    return seconds


def format_duration(seconds: float) -> str:
    if seconds and seconds < 1:
        return f"{seconds * 1000:g}ms"
    return f"{seconds:g}s"


Duration = Annotated[float, BeforeValidator(parse_duration),
                     PlainSerializer(format_duration, return_type=str, when_used="json")]
