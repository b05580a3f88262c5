"""When a drain may stop: the decision alone, fed with observations, so it is testable without a cluster.

A drain ends when every acknowledged message was delivered and things stayed quiet for `settle`,
and the broker (where it can count) holds nothing more for the consumers: redeliveries of messages
whose acknowledgement a fault lost are still to be taken, and a run that stopped before they were
would count them as held (an error) although nothing is missing; or, with messages still missing,
when it is clear they will not come: the broker says it holds nothing more for the consumers
(twice in a row, after `settle` without progress), or nothing more arrived for `stall`; or at
`timeout`.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness.check.delivery import outstanding
from harness.check.held import BROKER_STATE
from harness.check.history import History
from harness.errors import Interrupted

if TYPE_CHECKING:
    from harness.brokers.base import Cluster
    from harness.scenario.sections import DrainSpec

log = logging.getLogger("aftershock")

Backlog = Callable[[], "int | None"]


@dataclass
class DrainWatch:
    spec: DrainSpec
    started: float
    backlog: Backlog | None = None  # the broker's count of unacknowledged messages; None: not asked
    # whether that count covers every pending message, so an empty broker may end a drain with messages
    # missing (not with dead-lettering or an outbox relay: hops in flight); it always confirms a full one
    empty_ends: bool = True
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
            if now - self._quiet_since >= self.spec.settle and self._broker_done():
                return self._stop("drained")
            return self._timed_out(now)
        self._quiet_since = None
        if self.backlog is not None and self.empty_ends and now - self._progressed >= self.spec.settle:
            self._empty_seen = self._empty_seen + 1 if _ask(self.backlog) == 0 else 0
            if self._empty_seen >= 2:
                return self._stop("broker-empty")
        else:
            self._empty_seen = 0
        if now - self._progressed >= self.spec.stall:
            return self._stop("stalled")
        return self._timed_out(now)

    def _broker_done(self) -> bool:
        """Nothing more held for the consumers, or no way to tell (no count, or a failed query)."""
        if self.backlog is None:
            return True
        held = _ask(self.backlog)
        if held:
            log.info("every acknowledged message delivered; the broker still holds %d for the consumers", held)
        return not held

    def _timed_out(self, now: float) -> bool:
        return self._stop("timeout") if now - self.started >= self.spec.timeout else False

    def _stop(self, reason: str) -> bool:
        self.reason = reason
        return True


def _ask(backlog: Backlog) -> int | None:
    """The broker's backlog, or None when it cannot say: a failed query never ends a drain."""
    try:
        return backlog()
    except Interrupted:
        raise  # Ctrl-C or SIGTERM during the query: the run unwinds now, not after the drain's timeout
    except Exception as exc:  # noqa: BLE001 - any failure only means "ask again, or wait out the stall"
        log.info("backlog query failed: %r", exc)
        return None


WHY = {"broker-empty": "the broker holds nothing more for the consumers",
       "stalled": "nothing more arrived for {stall:g}s",
       "timeout": "timed out after {timeout:g}s"}


def drain(spec: DrainSpec, ledger_dir: Path, backlog: Backlog | None, between: Callable[[], None],
          on_event: Callable[[str], None], poll: float = 1.0, empty_ends: bool = True) -> str:
    """Wait for the consumers to catch up with what was acknowledged; DrainWatch decides when to
    stop, and the reason is returned. `between` runs before every look (the watchdog, progress)."""
    watch = DrainWatch(spec, time.monotonic(), backlog, empty_ends)
    while True:
        between()
        with History(ledger_dir) as history:
            missing = outstanding(history)
        if watch.observe(time.monotonic(), missing):
            break
        time.sleep(poll)
    if watch.reason == "drained":
        log.info("drained: every acknowledged message delivered")
        return watch.reason
    why = WHY[watch.reason].format(stall=spec.stall, timeout=spec.timeout)
    log.warning("drain stopped: %s, %d acknowledged messages not delivered", why, missing)
    on_event(f"[yellow]drain stopped: {why}; {missing} acknowledged messages not delivered[/]")
    return watch.reason


def record_broker_state(cluster: Cluster, out_dir: Path, on_event: Callable[[str], None]) -> dict[str, Any]:
    """What the broker still holds for the consumers once the drain is over, written beside the
    ledger: a message never delivered that the broker still holds is not lost, and the checker
    must be able to tell the two apart."""
    state: dict[str, Any] = {"topic": cluster.load_config()["topic"], "held": None, "positions": [],
                             "error": None, "replicas": None, "replicas_error": None, "groups": None,
                             "groups_error": None}
    try:
        state["positions"] = cluster.positions()
        state["held"] = (sum(max(0, p["end"] - p["committed"]) for p in state["positions"])
                         if state["positions"] else cluster.backlog())
    except Interrupted:
        raise  # a signal during the query is no unanswered query: the run unwinds
    except Exception as exc:  # noqa: BLE001 - an unanswered query leaves the figure unknown, never 0
        state["error"] = f"{type(exc).__name__}: {exc}"
        log.warning("could not ask the broker what it still holds: %s", state["error"])
    for key, query, asking in (("replicas", cluster.replicas, "where its replicas stand"),
                               ("groups", cluster.groups, "how its consumer groups stand")):
        try:
            state[key] = query()
        except Interrupted:
            raise
        except Exception as exc:  # noqa: BLE001 - a record for the reader, never a figure of the verdict
            state[f"{key}_error"] = f"{type(exc).__name__}: {exc}"
            log.warning("could not ask the broker %s: %s", asking, state[f"{key}_error"])
    (out_dir / BROKER_STATE).write_text(json.dumps(state, indent=2))
    if state["held"]:
        log.warning("the broker still holds %d message(s) no consumer took", state["held"])
        on_event(f"[red]the broker still holds {state['held']} message(s) no consumer took:"
                 " the consumers stopped short[/]")
    return state
