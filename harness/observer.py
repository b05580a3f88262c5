"""The cluster's own view through a run, as a ledger beside the messages and the faults: about once
a second, and at once after each fault and heal, what the brokers report of themselves (leaders,
epochs, in-sync replicas, the controller, which nodes run), kept as the changes (`cluster-*.csv`:
ts_ns,subject,attribute,value) plus one `observer,sample` row per look that says how many facts it
saw, so a gap in the record is visible as one. What a fault did to the cluster is read from here.

The view is the broker's (Cluster.observation): it opens its own connections, since it is asked
from the observer's thread while the run's own thread asks the cluster for leaders. A look that
fails is a row too (`observer,error`), never a hole nobody can see.
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from harness.ledger.writer import LedgerWriter, clean_error

log = logging.getLogger("aftershock")

INTERVAL = 1.0
DEADLINE = 5.0   # seconds a look may run before each further wait for it is an `observer,error` row
OBSERVATIONS = "cluster-observer.csv"   # its ledger, in the run's ledger directory
OBSERVER = "observer"
GONE = "-"                      # a fact the cluster no longer reports (a broker that left, a queue deleted)
UNKNOWN = "?"                   # a fact the look could not read this time (its broker did not answer)
_UNSAFE = re.compile(r"[,\n\r]")


@dataclass(frozen=True)
class Fact:
    """One thing the cluster says of itself: `subject` (partition:orders/0, controller, node:2,
    queue:orders), `attribute` (leader, epoch, isr, state...) and its value as text (a list joined
    by ';'), which the ledger keeps to ASCII without commas and line breaks."""

    subject: str
    attribute: str
    value: str


View = Callable[[], Iterable[Fact]]


def text(value: object) -> str:
    """A value as a ledger field: lists joined by ';', None as empty, ASCII without commas or line breaks."""
    if value is None:
        return ""
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=str) if isinstance(value, (set, frozenset)) else value
        return ";".join(text(item) for item in items)
    if isinstance(value, bool):
        return "true" if value else "false"
    return _UNSAFE.sub(" ", str(value)).encode("ascii", "replace").decode("ascii")


class ClusterObserver:
    """Looks at the cluster on a thread of its own until stopped; `poke` makes it look now."""

    def __init__(self, view: AbstractContextManager[View], ledger: Path, interval: float = INTERVAL,
                 deadline: float = DEADLINE) -> None:
        self._view_context = view
        self._interval = interval
        self._deadline = deadline
        self._writer = LedgerWriter(ledger, batch=64, interval=0.5)
        self._writing = threading.Lock()   # the look's thread and the loop's write to one ledger
        self._busy = False                 # a look is running (the view is not for two at once)
        self._last: dict[tuple[str, str], str] = {}
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._view: View | None = None
        self.looks = 0
        self.failed_looks = 0

    def __enter__(self) -> ClusterObserver:
        self._view = self._view_context.__enter__()
        self.look()   # the cluster as the run found it, before anything else happens
        self._thread = threading.Thread(target=self._loop, name="cluster-observer", daemon=True)
        self._thread.start()
        return self

    def poke(self) -> None:
        """Look now (a fault or heal just happened): its effect starts at once or not at all."""
        self._wake.set()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
            if self._thread.is_alive():
                log.warning("the cluster observer did not stop within 30 s; its last look is lost")
        try:
            if (self._thread is None or not self._thread.is_alive()) and not self._busy:
                self.look()   # the cluster as the run left it
        finally:
            self._writer.close()
            self._view_context.__exit__(exc_type, exc, tb)

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self._interval)
            self._wake.clear()
            if not self._stop.is_set():
                self._bounded_look()

    def _bounded_look(self) -> None:
        """A look on a thread of its own: one that hangs (a broker that holds a request without
        answering) leaves an error row for every `deadline` it runs over, never a silent gap, and no
        second look starts until it ends."""
        done = threading.Event()

        def run() -> None:
            self._busy = True
            try:
                self.look()
            finally:
                self._busy = False
                done.set()

        threading.Thread(target=run, name="cluster-look", daemon=True).start()
        waited = 0.0
        while not done.wait(self._deadline):
            waited += self._deadline
            self._write(time.time_ns(), OBSERVER, "error", f"a look still running after {waited:g}s")
            if self._stop.is_set():
                return

    def _write(self, *fields: object) -> None:
        with self._writing:
            self._writer.write(*fields)

    def look(self) -> None:
        """One look: the facts that changed since the last, and a row saying the look happened."""
        assert self._view is not None
        now = time.time_ns()
        try:
            facts = list(self._view())
        except Exception as exc:  # noqa: BLE001 - a look that failed is recorded, and the next one tried
            self.failed_looks += 1
            self._write(now, OBSERVER, "error", text(clean_error(f"{type(exc).__name__}: {exc}")))
            return
        self.looks += 1
        seen = set()
        for fact in facts:
            key = (fact.subject, fact.attribute)
            seen.add(key)
            value = text(fact.value)
            if self._last.get(key) != value:
                self._last[key] = value
                self._write(now, text(fact.subject), text(fact.attribute), value)
        for key in [k for k, v in self._last.items() if k not in seen and v != GONE]:
            self._last[key] = GONE
            self._write(now, *key, GONE)
        self._write(now, OBSERVER, "sample", str(len(facts)))
