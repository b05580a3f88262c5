"""A validation error that knows which key it is about, so the loader can point at its line."""

from __future__ import annotations


class LocatedValueError(ValueError):
    def __init__(self, message: str, loc: tuple[str | int, ...]) -> None:
        super().__init__(message)
        self.loc = loc
