"""A class-data-sharing archive for the Kafka JVMs the harness starts.

Three brokers starting at once on two cores spend most of their start-up loading and verifying the
same classes. A dynamic CDS archive (`-XX:ArchiveClassesAtExit`), dumped once at install time by a
throwaway single-node broker, lets every later broker map them instead: every cluster bring-up and
every restart a fault heals gets faster, and nothing else about the broker changes. The archive is
only valid for the JDK and the jars it was dumped with, so both are in its name; when it is missing
the brokers start exactly as before.

`main()` builds it, idempotently; `scripts/install.sh` calls it after resolving the jars.
"""

from __future__ import annotations

import functools
import hashlib
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from harness.brokers.kafka.dist import kafka_classpath, kafka_version, logging_flags
from harness.paths import cache_dir

BUILD_TIMEOUT = 120.0
STARTED = "Kafka Server started"


@functools.lru_cache(maxsize=1)
def _java_identity() -> str:
    """The JDK's build, as `java -version` names it, and where it lives: an archive dumped by one
    JDK is refused by another."""
    java = shutil.which("java") or "java"
    version = subprocess.run([java, "-version"], capture_output=True, text=True, timeout=30).stderr
    return hashlib.sha256(f"{os.path.realpath(java)}\n{version}".encode()).hexdigest()[:12]


def archive_path(kafka_version: str) -> Path:
    return cache_dir() / f"kafka-{kafka_version}" / f"classes-{_java_identity()}.jsa"


def jvm_flags(kafka_version: str) -> list[str]:
    """The flag that maps the archive, or nothing when it has not been built."""
    archive = archive_path(kafka_version)
    return [f"-XX:SharedArchiveFile={archive}"] if archive.exists() else []


def build(kafka_version: str, classpath: str, log_flags: list[str]) -> Path:
    """Start a single-node KRaft broker in a scratch directory with the archive flag, wait until it
    has started, stop it cleanly (the archive is written as the JVM exits) and move it in place."""
    archive = archive_path(kafka_version)
    if archive.exists():
        return archive
    with tempfile.TemporaryDirectory(prefix="aftershock-cds-") as scratch:
        work = Path(scratch)
        ports = _free_ports(2)
        props = work / "server.properties"
        props.write_text("\n".join([
            "process.roles=broker,controller", "node.id=1",
            f"controller.quorum.voters=1@127.0.0.1:{ports[1]}",
            f"listeners=PLAINTEXT://127.0.0.1:{ports[0]},CONTROLLER://127.0.0.1:{ports[1]}",
            f"advertised.listeners=PLAINTEXT://127.0.0.1:{ports[0]}",
            "controller.listener.names=CONTROLLER", "inter.broker.listener.name=PLAINTEXT",
            "listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
            f"log.dirs={work / 'data'}", "offsets.topic.replication.factor=1",
            "transaction.state.log.replication.factor=1", "transaction.state.log.min.isr=1", ""]))
        java = ["java", "-Xmx384m", "-XX:+UseG1GC", *log_flags,
                f"-Dkafka.logs.dir={work / 'logs'}", "-cp", classpath]
        subprocess.run([*java, "kafka.tools.StorageTool", "format", "--cluster-id=q1Sh-9_ISia_zwGINzRvyQ",
                        f"--config={props}"], check=True, capture_output=True, timeout=BUILD_TIMEOUT)
        staged = work / "classes.jsa"
        output = work / "broker.log"
        with open(output, "wb") as out:
            broker = subprocess.Popen([*java[:1], f"-XX:ArchiveClassesAtExit={staged}", *java[1:], "kafka.Kafka",
                                       str(props)], stdout=out, stderr=subprocess.STDOUT)
            try:
                deadline = time.monotonic() + BUILD_TIMEOUT
                while STARTED not in output.read_text(errors="replace"):
                    if broker.poll() is not None or time.monotonic() > deadline:
                        raise RuntimeError(f"the archive's broker did not start:\n{output.read_text()[-2000:]}")
                    time.sleep(0.2)
                broker.send_signal(signal.SIGTERM)
                broker.wait(timeout=BUILD_TIMEOUT)
            finally:
                if broker.poll() is None:
                    broker.kill()
                    broker.wait()
        if not staged.exists():
            raise RuntimeError(f"the JVM wrote no archive:\n{output.read_text()[-2000:]}")
        archive.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(staged), archive.with_suffix(".partial"))
        archive.with_suffix(".partial").replace(archive)
    return archive


def _free_ports(n: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(n)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def ensure(version: str, say: Callable[[str], None] = print) -> Path:
    """The release's archive, built now unless it is there already."""
    if archive_path(version).exists():
        say(f"class-data archive already at {archive_path(version)}")
        return archive_path(version)
    started = time.monotonic()
    archive = build(version, kafka_classpath(version), logging_flags(version))
    say(f"class-data archive for Kafka {version} built in {time.monotonic() - started:.0f}s: {archive}")
    return archive


def main() -> int:
    """Build the archives of the releases given as arguments (default: the pom's); install.sh calls it."""
    import sys

    for version in sys.argv[1:] or [kafka_version()]:
        ensure(version)
    return 0
