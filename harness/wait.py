"""One wait API for readiness: bounded, polled, and naming what it waited for when it gives up."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from harness.errors import AftershockError, ClusterError

T = TypeVar("T")
log = logging.getLogger("aftershock")


def wait_until(
    probe: Callable[[], T | None],
    *,
    what: str,
    timeout: float,
    interval: float = 0.5,
    retry_on: tuple[type[BaseException], ...] = (Exception,),
    give_up_on: tuple[type[BaseException], ...] = (AftershockError,),
    logs: Sequence[Path] = (),
) -> T:
    """Poll `probe` until it returns something truthy; its last exception or value goes in the error."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            value = probe()
            if value:
                return value
            last = value
        except retry_on as exc:  # noqa: PERF203 - retrying is the point
            if isinstance(exc, give_up_on):
                raise  # by default a probe that knows waiting is pointless (a node died) says so at once
            last = exc
        if time.monotonic() >= deadline:
            tails = "".join(f"\n--- last lines of {p} ---\n{_tail(p)}" for p in logs)
            raise ClusterError(f"timed out after {timeout:g}s waiting for {what} (last: {last!r}){tails}")
        time.sleep(interval)


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"
