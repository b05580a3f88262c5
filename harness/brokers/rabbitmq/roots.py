"""Root filesystems for RabbitMQ releases the host cannot install: Debian 13's RabbitMQ 4 and its
Erlang need a newer glibc than Debian 12's, so they run from a Debian root built once with
debootstrap from Debian's mirror (a package registry) into the cache, and a node runs chrooted in it.

Built in `<name>.partial` and renamed when complete, so a half-built root is never used; the
package scripts never start a service while installing (policy-rc.d answers 101).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from harness.errors import EnvironmentProblem
from harness.paths import cache_dir

MIRROR = os.environ.get("AFTERSHOCK_DEBIAN_MIRROR", "http://deb.debian.org/debian")
BUILD_TIMEOUT = 1800.0
INSIDE = Path("/aftershock")   # where a chrooted node finds its run's files (bind-mounted there)


def root_dir(suite: str) -> Path:
    return cache_dir() / "roots" / f"rabbitmq-{suite}"


def is_built(suite: str) -> bool:
    return (root_dir(suite) / ".complete").exists()


def _run(argv: list[str], what: str, log: Path) -> None:
    with open(log, "ab") as out:
        try:
            done = subprocess.run(argv, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise EnvironmentProblem(f"{what} took over {BUILD_TIMEOUT:g}s: see {log}") from None
    if done.returncode != 0:
        tail = log.read_text(errors="replace")[-1500:]
        raise EnvironmentProblem(f"{what} failed (exit {done.returncode}), see {log}:\n{tail}")


def build(suite: str, say: Callable[[str], None] = print, script: str | None = None) -> Path:
    """Debian `suite` (minbase) with rabbitmq-server, once; returns the root."""
    root = root_dir(suite)
    if is_built(suite):
        return root
    if os.geteuid() != 0:
        raise EnvironmentProblem(f"building the RabbitMQ root of Debian {suite} needs root (debootstrap, chroot)")
    if shutil.which("debootstrap") is None:
        raise EnvironmentProblem("debootstrap not found: install it (Debian: apt-get install debootstrap)")
    say(f"building a Debian {suite} root with rabbitmq-server into {root} (first use, about a minute)")
    started = time.monotonic()
    partial = root.with_name(root.name + ".partial")
    log = root.with_name(root.name + ".log")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    log.write_text("")
    _run(["debootstrap", "--variant=minbase", suite, str(partial), MIRROR, *([script] if script else [])],
         f"debootstrap {suite}", log)
    policy = partial / "usr" / "sbin" / "policy-rc.d"
    policy.write_text("#!/bin/sh\nexit 101\n")
    policy.chmod(0o755)
    shutil.copy("/etc/resolv.conf", partial / "etc" / "resolv.conf")
    _run(["mount", "-t", "proc", "proc", str(partial / "proc")], "mounting /proc in the root", log)
    try:
        # A testing suite's Release file carries a Valid-Until a mirror's snapshot can outlive (forky's
        # had expired 25 days before, here): its signature still holds, only the freshness check is off.
        _run(["chroot", str(partial), "sh", "-c", "apt-get -o Acquire::Check-Valid-Until=false update -qq"
              " && DEBIAN_FRONTEND=noninteractive"
              " apt-get install -y -qq --no-install-recommends rabbitmq-server && apt-get clean"],
             f"installing rabbitmq-server into the {suite} root", log)
    finally:
        subprocess.run(["umount", str(partial / "proc")], check=False)
    policy.unlink()
    (partial / "etc" / "resolv.conf").unlink()
    shutil.rmtree(partial / "var" / "lib" / "apt" / "lists", ignore_errors=True)
    hosts = partial / "etc" / "hosts"   # forky's root has none: epmd then cannot resolve localhost
    if "localhost" not in (hosts.read_text() if hosts.exists() else ""):
        with open(hosts, "a") as out:
            out.write("127.0.0.1 localhost\n")
    for mountpoint in ("node", "home"):
        (partial / INSIDE.relative_to("/") / mountpoint).mkdir(parents=True, exist_ok=True)
    (partial / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    partial.rename(root)
    say(f"Debian {suite} root built in {time.monotonic() - started:.0f}s")
    return root
