"""Where installed artefacts live: a cache outside the repo, shared by every run and clone."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cache_dir() -> Path:
    return Path(os.environ.get("AFTERSHOCK_CACHE", Path.home() / ".cache" / "aftershock"))


SHARED_RECORDS = Path("/run/aftershock")


def run_records_dirs() -> list[Path]:
    """Where runs' owner records may be (harness.ownership): the machine-wide place every user
    reads, and this user's cache for a user who cannot write there."""
    return [SHARED_RECORDS, cache_dir() / "runs"]


def run_records_dir() -> Path:
    """Where this process writes its owner records: /run/aftershock when it may (root), else its cache."""
    for path in run_records_dirs():
        try:
            path.mkdir(parents=True, exist_ok=True)
            if path == SHARED_RECORDS:
                path.chmod(0o755)
            if os.access(path, os.W_OK):
                return path
        except OSError:
            continue
    raise OSError(f"cannot write run records in {' or '.join(map(str, run_records_dirs()))}")
