"""What ran, for the record: Aftershock's own version and the commit it ran from, and the Python
under it. A result says which harness judged it, as it says which broker and clients it judged."""

from __future__ import annotations

import functools
import importlib.metadata
import platform
import subprocess

from harness.paths import REPO


@functools.lru_cache(maxsize=1)
def commit() -> str:
    """The checkout's commit (with -dirty when tracked files differ from it), or 'unknown' outside one."""
    if not (REPO / ".git").exists():
        return "unknown"
    try:
        head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short=12", "HEAD"], capture_output=True,
                              text=True, timeout=10)
        dirty = subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    if head.returncode != 0:
        return "unknown"
    return head.stdout.strip() + ("-dirty" if dirty.stdout.strip() else "")


def harness_versions() -> dict[str, str]:
    try:
        version = importlib.metadata.version("aftershock")
    except importlib.metadata.PackageNotFoundError:
        version = "unknown (not installed)"
    return {"aftershock": version, "aftershock-commit": commit(), "python": platform.python_version()}
