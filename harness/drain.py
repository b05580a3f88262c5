"""When a drain may stop: the decision alone, fed with observations, so it is testable without a cluster.

A drain ends when every acknowledged message was delivered and things stayed quiet for `settle`;
or, with messages still missing, when it is clear they will not come: the broker says it holds
nothing more for the consumers (twice in a row, after `settle` without progress), or nothing more
arrived for `stall`; or at `timeout`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from harness.scenario.model import DrainSpec

log = logging.getLogger("aftershock")

Backlog = Callable[[], "int | None"]


@dataclass
class DrainWatch:
    spec: DrainSpec
    started: float
    backlog: Backlog | None = None  # the broker's count of unacknowledged messages; None: not asked
    _best: int | None = None
    _progressed: float = 0.0
    _quiet_since: float | None = None
    _empty_seen: int = 0
    reason: str = field(default="")

    def __post_init__(self) -> None:
        self._progressed = self.started

    def observe(self, now: float, missing: int) -> bool:
        """Record how many acknowledged messages are still missing at `now`; True: stop draining
        (`reason` says why: drained, broker-empty, stalled or timeout)."""
        if self._best is None or missing < self._best:
            self._best, self._progressed = missing, now
        if missing == 0:
            self._quiet_since = self._quiet_since if self._quiet_since is not None else now
            return self._stop("drained") if now - self._quiet_since >= self.spec.settle else self._timed_out(now)
        self._quiet_since = None
        if self.backlog is not None and now - self._progressed >= self.spec.settle:
            self._empty_seen = self._empty_seen + 1 if _ask(self.backlog) == 0 else 0
            if self._empty_seen >= 2:
                return self._stop("broker-empty")
        else:
            self._empty_seen = 0
        if now - self._progressed >= self.spec.stall:
            return self._stop("stalled")
        return self._timed_out(now)

    def _timed_out(self, now: float) -> bool:
        return self._stop("timeout") if now - self.started >= self.spec.timeout else False

    def _stop(self, reason: str) -> bool:
        self.reason = reason
        return True


def _ask(backlog: Backlog) -> int | None:
    """The broker's backlog, or None when it cannot say: a failed query never ends a drain."""
    try:
        return backlog()
    except Exception as exc:  # noqa: BLE001 - any failure only means "ask again, or wait out the stall"
        log.info("backlog query failed: %r", exc)
        return None
