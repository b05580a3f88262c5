"""RabbitMQ's distributions: Debian's rabbitmq-server, whose scripts in /usr/lib/rabbitmq/bin the
harness runs directly (the /usr/sbin wrappers switch user): the host's own (Debian 12: 3.10), or a
newer Debian's from a root filesystem built for it (roots.py)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from harness.errors import EnvironmentProblem

RABBIT_BIN = Path(os.environ.get("AFTERSHOCK_RABBITMQ_BIN", "/usr/lib/rabbitmq/bin"))


MIRRORING = ("classic queue mirroring was removed in RabbitMQ 4.0 (the key is accepted and has no effect):"
             " replicate with a quorum queue (queue.type: quorum) or a stream")
PARTITION_HANDLING = ("RabbitMQ 4.3 removed Mnesia and its partition-handling strategies (the key is accepted"
                      " and has no effect): Khepri's Raft majority decides; remove it")


@dataclass(frozen=True)
class Release:
    """A RabbitMQ release series as Debian ships it: on the host, or in a root of `suite`; what
    metadata stores it offers (the first its default) and which rabbitmq.conf keys it no longer
    honours (key, or prefix ending in '.', -> what replaced it)."""

    series: str
    suite: str | None      # None: the host's own packages
    debian: str            # whose package it is, for messages
    script: str | None = None   # debootstrap's script, for a suite this debootstrap does not know by name
    stores: tuple[str, ...] = ("mnesia",)
    removed: dict[str, str] = field(default_factory=dict)
    transient_queues: bool = True   # non-durable, non-exclusive queues declarable by default
    delivery_limit: int | None = None   # a quorum queue's delivery limit when none is set (None: unlimited)


RELEASES = {
    "3.10": Release("3.10", None, "Debian 12"),
    "4.0": Release("4.0", "trixie", "Debian 13", stores=("mnesia", "khepri"),
                   removed={"mirroring_": MIRRORING}, delivery_limit=20),   # the keys stay in its schema
    "4.3": Release("4.3", "forky", "Debian 14 (testing)", script="/usr/share/debootstrap/scripts/sid",
                   stores=("khepri",),
                   removed={"mirroring_": MIRRORING, "cluster_partition_handling": PARTITION_HANDLING},
                   transient_queues=False, delivery_limit=20),
}
DEFAULT_RELEASE = "3.10"


def removed_setting(release: Release, key: str) -> str | None:
    """What replaced rabbitmq.conf `key` on `release` (which accepts it, to no effect), or None."""
    for removed, why in release.removed.items():
        if key == removed or (removed.endswith((".", "_")) and key.startswith(removed)):
            return why
    return None


def erlang_version(root: Path = Path("/")) -> str:
    """The OTP release the nodes run on (its OTP_VERSION file), or 'unknown'."""
    found = sorted((root / "usr/lib/erlang/releases").glob("*/OTP_VERSION"))
    return found[-1].read_text().strip() if found else "unknown"


def installed_version(root: Path) -> str:
    """The rabbitmq_server release a root holds (the host's is rabbitmq_version())."""
    found = sorted((root / "usr/lib/rabbitmq/lib").glob("rabbitmq_server-*"))
    if not found:
        raise EnvironmentProblem(f"no RabbitMQ in the root {root}: remove it to have it built again")
    return found[-1].name.removeprefix("rabbitmq_server-")


def rabbitmq_version() -> str:
    lib = RABBIT_BIN.parent / "lib"
    found = sorted(lib.glob("rabbitmq_server-*"))
    if not (RABBIT_BIN / "rabbitmq-server").exists() or not found:
        raise EnvironmentProblem(
            f"RabbitMQ not found in {RABBIT_BIN}: run `make install` (installs Debian's rabbitmq-server)")
    return found[-1].name.removeprefix("rabbitmq_server-")
