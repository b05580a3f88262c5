"""Keep a service's broker client working through transient errors, as a real service must.

A sample consumer that dies on the first ECONNREFUSED (kafka-python's coordinator lookup raises
it out of `poll()` while a broker restarts) stops consuming, and everything it never read would be
judged lost. The supervisor retries each step with exponential backoff and full jitter, rebuilds
the client after `rebuild_after` failures in a row (a client stuck on a dead broker never heals by
itself), and says so in the service's log. Errors outside `transient` are bugs: they propagate and
the process exits, which the harness's watchdog reports as a run error.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from harness.patterns.backoff import Backoff

Client = TypeVar("Client")


class Wedged(Exception):
    """The client answers but is stuck (a group member left without partitions): rebuild it now."""


@dataclass
class IdleWatch:
    """Tells a wedged client from an idle one: raise Wedged once the same client has had nothing to
    do for `after` seconds although it should (kafka-python once left a consumer that joined while
    its topic was being recreated with no partitions, and never rejoined)."""

    after: float
    clock: Callable[[], float] = time.monotonic
    _client: object = None
    _since: float = 0.0

    def observe(self, client: object, working: bool, should_work: bool, why: str = "") -> None:
        now = self.clock()
        if client is not self._client or working or not should_work:
            self._client, self._since = client, now
            return
        if now - self._since >= self.after:
            raise Wedged(f"nothing to do for {self.after:g}s although it should have: {why}")


Behind = Callable[[set[int]], "set[int] | None"]


@dataclass
class StallWatch:
    """Tells a partition the client stopped fetching from one with nothing to read: once an assigned
    partition has delivered nothing for `after` seconds, `behind` asks the broker which of the silent
    ones hold more than this client read (None: it cannot say now, ask again later) and Wedged is
    raised for those. librdkafka can leave an assigned partition unfetched for good after a
    coordinator moves (confluentinc/librdkafka#5586: an OffsetFetch answered NOT_COORDINATOR is
    never retried); a new client recovers, as a service's liveness probe would restart it."""

    after: float
    clock: Callable[[], float] = time.monotonic
    _client: object = None
    _silent_since: dict[int, float] = field(default_factory=dict)

    def observe(self, client: object, assigned: set[int], delivered: set[int], behind: Behind) -> None:
        now = self.clock()
        if client is not self._client:
            self._client, self._silent_since = client, {}
        self._silent_since = {p: (now if p in delivered else self._silent_since.get(p, now)) for p in assigned}
        silent = {p for p, since in self._silent_since.items() if now - since >= self.after}
        if not silent:
            return
        stuck = behind(silent)
        if stuck:
            raise Wedged(f"partition(s) {sorted(stuck)} delivered nothing for {self.after:g}s although the"
                         " broker holds more for them")
        # Nothing waits for them (quiet, not stuck): look again in `after`; no answer: in a quarter of it.
        again = now if stuck is not None else now - 0.75 * self.after
        for p in silent:
            self._silent_since[p] = again


RECONNECT = Backoff(base=0.1, cap=2.0, jitter="full", max_attempts=1 << 30)


@dataclass
class Supervisor(Generic[Client]):
    what: str                                         # for the log: "consumer-1", "relay"
    transient: tuple[type[BaseException], ...]        # what a broker fault may raise
    stopping: Callable[[], bool]
    rng: random.Random = field(default_factory=random.Random)
    rebuild_after: int = 5
    backoff: Backoff = RECONNECT
    log: Callable[[str], None] = lambda line: print(line, flush=True)
    sleep: Callable[[float], None] = time.sleep
    failures: int = 0                                 # in a row, now
    total_failures: int = 0
    rebuilds: int = 0

    def run(self, connect: Callable[[], Client], step: Callable[[Client], None],
            close: Callable[[Client], None], client: Client | None = None) -> None:
        """Call `step(client)` until `stopping()`; `connect` (re)builds the client (`client`: one
        already built), `close` ends it."""
        delays: Iterator[float] | None = None
        try:
            while not self.stopping():
                try:
                    if client is None:
                        client = connect()
                    step(client)
                except Wedged as exc:
                    self.log(f"{self.what}: client wedged ({exc}): rebuilding it")
                    if client is not None:  # None only if connect() raised it
                        self._close_quietly(close, client)
                    client = None
                    self.rebuilds += 1
                    continue
                except self.transient as exc:
                    self.failures += 1
                    self.total_failures += 1
                    delays = delays or self.backoff.delays(self.rng)
                    delay = next(delays, self.backoff.cap)
                    self.log(f"{self.what}: transient error {type(exc).__name__}: {exc}; retrying in"
                             f" {delay:.2f}s (failure {self.failures} in a row)")
                    if client is not None and self.failures % self.rebuild_after == 0:
                        self.log(f"{self.what}: {self.failures} failures in a row: rebuilding the client")
                        self._close_quietly(close, client)
                        client = None
                        self.rebuilds += 1
                    self._pause(delay)
                    continue
                if self.failures:
                    self.log(f"{self.what}: recovered after {self.failures} failure(s) in a row")
                    self.failures, delays = 0, None
        finally:
            if client is not None:
                self._close_quietly(close, client)

    def _pause(self, delay: float) -> None:
        """Sleep in short slices so a stop request is not kept waiting by a long backoff."""
        slept = 0.0
        while not self.stopping() and slept < delay:
            self.sleep(piece := min(delay - slept, 0.1))
            slept += piece

    def _close_quietly(self, close: Callable[[Client], None], client: Client) -> None:
        try:
            close(client)
        except Exception as exc:  # noqa: BLE001 - a broken client may fail to close; it is dropped either way
            self.log(f"{self.what}: closing the old client failed: {exc!r}")
