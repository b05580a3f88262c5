"""What every sample consumer service shares: command-line basics, a stop flag, simulated work."""

from __future__ import annotations

import argparse
import signal
import time
from pathlib import Path


def base_parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--instance", type=int, required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--process-ms", type=float, default=0.0, help="simulated work per message")
    return parser


class StopFlag:
    """Set by SIGTERM or Ctrl-C: the service finishes its batch, records it, and leaves cleanly."""

    def __init__(self) -> None:
        self.set = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, *_: object) -> None:
        self.set = True

    def __bool__(self) -> bool:
        return self.set


def process(args: argparse.Namespace) -> None:
    """The service's work on one message (a sleep, for now)."""
    if args.process_ms:
        time.sleep(args.process_ms / 1000)
