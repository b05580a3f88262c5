"""Where installed artefacts live: a cache outside the repo, shared by every run and clone."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    return Path(os.environ.get("AFTERSHOCK_CACHE", Path.home() / ".cache" / "aftershock"))


def runs_dir() -> Path:
    """Live-run markers: one file per running orchestrator, used by `cleanup`."""
    path = cache_dir() / "runs"
    path.mkdir(parents=True, exist_ok=True)
    return path
