"""Kafka's distribution: the version `targets/kafka/pom.xml` pins, its jars resolved into the cache
by `make install`, and the logging config every node and tool JVM runs with."""

from __future__ import annotations

import re
import shutil

from harness.errors import EnvironmentProblem
from harness.paths import REPO, cache_dir

POM = REPO / "targets" / "kafka" / "pom.xml"
LOG4J = REPO / "targets" / "kafka" / "log4j.properties"


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, f"{POM} lacks <kafka.version>"
    return match.group(1)


def kafka_classpath() -> str:
    if shutil.which("java") is None:
        raise EnvironmentProblem("java not found on PATH: install a JDK 17+ (Debian: openjdk-17-jre-headless)")
    libs = cache_dir() / f"kafka-{kafka_version()}" / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise EnvironmentProblem(f"Kafka jars not found in {libs}: run `make install` (resolves them with mvn)")
    return f"{libs}/*"


def official_image() -> str:
    """apache/kafka at the pinned version: what the Docker runtime runs by default."""
    return f"apache/kafka:{kafka_version()}"
