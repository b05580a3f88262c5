"""RabbitMQ's distribution: Debian's rabbitmq-server, whose scripts in /usr/lib/rabbitmq/bin the
harness runs directly (the /usr/sbin wrappers switch user)."""

from __future__ import annotations

import os
from pathlib import Path

from harness.errors import EnvironmentProblem

RABBIT_BIN = Path(os.environ.get("AFTERSHOCK_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


def erlang_version() -> str:
    """The OTP release the nodes run on (its OTP_VERSION file), or 'unknown'."""
    found = sorted(Path("/usr/lib/erlang/releases").glob("*/OTP_VERSION"))
    return found[-1].read_text().strip() if found else "unknown"


def rabbitmq_version() -> str:
    lib = RABBIT_BIN.parent / "lib"
    found = sorted(lib.glob("rabbitmq_server-*"))
    if not (RABBIT_BIN / "rabbitmq-server").exists() or not found:
        raise EnvironmentProblem(
            f"RabbitMQ not found in {RABBIT_BIN}: run `make install` (installs Debian's rabbitmq-server)")
    return found[-1].name.removeprefix("rabbitmq_server-")
