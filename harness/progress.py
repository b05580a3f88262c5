"""Live progress during a run: phase, elapsed time, rates, totals and fault events."""

from __future__ import annotations

import logging
import time
from collections import deque
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.markup import escape
from rich.table import Table

from harness.ledger.tail import LedgerTail

PLAIN_INTERVAL = 5.0
log = logging.getLogger("aftershock")


class Progress:
    """A rich live panel on a terminal; a plain line every few seconds in CI logs."""

    def __init__(self, console: Console, tail: LedgerTail, out_dir: Path | None = None) -> None:
        self.console = console
        self.tail = tail
        self.out_dir = out_dir
        self.phase = "starting"
        self.started = self.phase_started = time.monotonic()
        self.events: deque[str] = deque(maxlen=6)
        self.rates = {"K": 0.0, "D": 0.0}
        self._last = time.monotonic()
        self._last_plain = 0.0
        self._live: Live | None = None

    def __enter__(self) -> Progress:
        if self.console.is_terminal:
            self._live = Live(self._render(), console=self.console, refresh_per_second=4, transient=True)
            self._live.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._live is not None:
            self._live.__exit__(None, None, None)
            self._live = None

    def set_phase(self, phase: str) -> None:
        self.phase = phase
        self.phase_started = time.monotonic()
        log.info("phase: %s", phase)
        self._say(f"[bold]{escape(phase)}[/]")

    def event(self, text: str) -> None:
        """`text` is markup: callers escape what they quote (fault targets, error messages)."""
        stamp = f"{time.monotonic() - self.started:6.1f}s"
        self.events.append(f"{stamp} {text}")
        self._say(text)

    def _say(self, text: str) -> None:
        """On a terminal, rich's log line; in a CI log, one unwrapped line per message."""
        if self.console.is_terminal:
            self.console.log(text)
        else:
            self.console.print(escape(f"[{time.strftime('%H:%M:%S')}]") + f" {text}", soft_wrap=True, markup=True)

    def update(self) -> None:
        now = time.monotonic()
        fresh = self.tail.poll()
        span = max(now - self._last, 1e-3)
        self._last = now
        for key in self.rates:  # smoothed per-second rates
            self.rates[key] = 0.7 * self.rates[key] + 0.3 * fresh[key] / span
        if self._live is not None:
            self._live.update(self._render())
        elif now - self._last_plain >= PLAIN_INTERVAL:
            self._last_plain = now
            self._say(escape(self.line()))

    def line(self) -> str:
        t = self.tail.totals
        return (f"{self.phase}: {time.monotonic() - self.phase_started:.0f}s in phase | acked {t['K']} "
                f"({self.rates['K']:.0f}/s) errors {t['E']} | delivered {t['D']} ({self.rates['D']:.0f}/s)"
                f" | behind {self.behind}")

    @property
    def behind(self) -> int:
        """Acknowledged (or committed to an outbox) minus deliveries so far: the consumers' backlog,
        roughly (a redelivery counts as a delivery until the check sorts them out)."""
        t = self.tail.totals
        return max(0, max(t["K"], t["C"]) - t["D"])

    def _render(self) -> Table:
        t = self.tail.totals
        table = Table(title=f"aftershock: {escape(self.phase)}", show_header=False, expand=False)
        now = time.monotonic()
        table.add_row("elapsed", f"{now - self.phase_started:.0f}s in phase, {now - self.started:.0f}s in all")
        table.add_row("produce", f"{self.rates['K']:.0f}/s acked, {t['A']} sent, {t['K']} acked, {t['E']} errors")
        table.add_row("consume", f"{self.rates['D']:.0f}/s, {t['D']} delivered, about {self.behind} behind")
        if t["S"] or t["L"]:
            table.add_row("services", f"{t['S']} side effects, {t['L']} dead letters")
        table.add_row("faults", "\n".join(self.events) or "-")
        if self.out_dir is not None:
            table.add_row("run dir", f"{escape(str(self.out_dir))} (report.html at the end)")
        return table
