"""The tree stays lint- and type-clean: ruff (lint + import order) and mypy, as configured in
pyproject.toml, report nothing. Run by `make test`, so a finding fails the suite like a bug."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tool: str, *args: str) -> subprocess.CompletedProcess[str]:
    if importlib.util.find_spec(tool) is None:
        reason = f"{tool} is not installed: scripts/install.sh --test installs it (pyproject.toml, extra 'test')"
        print(reason)
        pytest.skip(reason)
    return subprocess.run([sys.executable, "-m", tool, *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=300)


def test_ruff_finds_nothing_in_the_harness_the_sample_apps_or_the_tests() -> None:
    done = _run("ruff", "check", "harness", "targets", "tests")
    assert done.returncode == 0, f"ruff check harness targets tests:\n{done.stdout}{done.stderr}"


def test_mypy_finds_nothing_in_the_harness() -> None:
    done = _run("mypy", "harness")
    assert done.returncode == 0, f"mypy harness:\n{done.stdout}{done.stderr}"
