"""Signals during a run: Ctrl-C and SIGTERM unwind its ExitStack once, never a teardown half-done,
and the run's own log file for as long as it runs."""

from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType

from harness.errors import Interrupted

log = logging.getLogger("aftershock")


class Interrupts:
    """Ctrl-C and SIGTERM unwind the ExitStack once; further signals during cleanup are ignored.
    A first signal that comes while the stack is already unwinding (the run's own teardown, or an
    error's) is held until the teardown is done: raised inside one resource's exit it would cut
    that exit short (a RabbitMQ cluster's epmd daemons outlived a SIGINT during `stopping`)."""

    def __init__(self) -> None:
        self.fired: str | None = None
        self.holding = False

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        if self.fired:
            log.warning("signal %d during cleanup ignored; cleanup is running", signum)
            return
        self.fired = f"interrupted by {signal.Signals(signum).name}; everything started was stopped"
        if self.holding:
            log.warning("%s during the teardown: it goes on to its end", signal.Signals(signum).name)
            return
        raise Interrupted(self.fired)

    @contextlib.contextmanager
    def installed(self) -> Iterator[Interrupts]:
        previous = {s: signal.signal(s, self._handler) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for sig, old in previous.items():
                signal.signal(sig, old)

    @contextlib.contextmanager
    def teardown_held(self) -> Iterator[contextlib.ExitStack]:
        """An ExitStack whose unwinding no signal cuts short; one held meanwhile is raised after it
        (unless the stack unwinds for an error of its own, which then stands)."""
        with contextlib.ExitStack() as stack:
            try:
                yield stack
            finally:
                self.holding = True
        self.holding = False
        if self.fired:
            raise Interrupted(self.fired)


@contextlib.contextmanager
def harness_log(out_dir: Path) -> Iterator[None]:
    handler = logging.FileHandler(out_dir / "harness.log")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    loggers = [logging.getLogger("aftershock"), logging.getLogger("kafka")]
    logging.getLogger("aftershock").setLevel(logging.INFO)
    logging.getLogger("kafka").setLevel(logging.WARNING)
    for logger in loggers:
        logger.addHandler(handler)
        logger.propagate = False
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeHandler(handler)
        handler.close()
