"""Kafka's distributions: any release Maven Central serves from 3.9 up, each resolved once into the
cache (its jars, and the SLF4J backend its logging needs), and the logging config its JVMs run with.

`targets/kafka/pom.xml` names the default release. A release is resolved on first use (a run says
so in its progress) or ahead of time by `aftershock install kafka=VERSION`; a half-resolved one
is never used: the jars land in `libs.partial` and become `libs` only when complete.
"""

from __future__ import annotations

import functools
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from harness.errors import EnvironmentProblem
from harness.paths import REPO, cache_dir

POM = REPO / "targets" / "kafka" / "pom.xml"
LOG4J = REPO / "targets" / "kafka" / "log4j.properties"     # reload4j (log4j 1.x syntax)
LOG4J2 = REPO / "targets" / "kafka" / "log4j2.properties"
OLDEST = (3, 9, 0)   # KRaft with static voters and the StorageTool as the harness drives them
# The releases the suite runs (tests/integration/test_kafka_versions.py), the default among them:
# the newest of each line Maven Central serves whole here (4.0.1 and 4.0.2 lack connect-api).
TESTED = ("3.9.1", "4.0.0", "4.1.1", "4.4.0")
RESOLVE_TIMEOUT = 900.0
_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")


def kafka_version() -> str:
    """The default release: the one the pom names."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, f"{POM} lacks <kafka.version>"
    return match.group(1)


def release_tuple(version: str) -> tuple[int, int, int]:
    """(major, minor, patch) of a release name; ValueError for anything else (a scenario error)."""
    match = _VERSION.match(version)
    if match is None:
        raise ValueError(f"Kafka version {version!r}: give a release as MAJOR.MINOR.PATCH, e.g. {kafka_version()}")
    found = (int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if found < OLDEST:
        raise ValueError(f"Kafka version {version}: Aftershock runs Kafka {'.'.join(map(str, OLDEST[:2]))} and"
                         f" later (KRaft with static voters); the default is {kafka_version()}")
    return found


def libs_dir(version: str) -> Path:
    return cache_dir() / f"kafka-{version}" / "libs"


def is_resolved(version: str) -> bool:
    libs = libs_dir(version)
    return (libs / ".complete").exists() and (libs / f"kafka_2.13-{version}.jar").exists()


def _mvn(version: str, out: Path, *extra: str) -> None:
    argv = ["mvn", "-q", "-B", "-f", str(POM), f"-Dkafka.version={version}", *extra,
            "dependency:copy-dependencies", f"-DoutputDirectory={out}", "-DincludeScope=runtime"]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=RESOLVE_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise EnvironmentProblem(f"resolving Kafka {version} from Maven Central took over"
                                 f" {RESOLVE_TIMEOUT:g}s: try again, or check the registry") from None
    if done.returncode != 0:
        errors = [line for line in (done.stdout + done.stderr).splitlines() if "[ERROR]" in line]
        why = errors[0].split("[ERROR]", 1)[1].strip() if errors else (done.stdout + done.stderr)[-500:]
        raise EnvironmentProblem(f"Kafka {version} could not be resolved from Maven Central: {why[:700]}")


def logging_profile(jars: list[str]) -> list[str]:
    """The pom profile giving a release its SLF4J backend, from the jars it depends on: log4j2 where
    it brings log4j-core (the binding of that version, for the slf4j-api it brings), else reload4j."""
    core = [m.group(1) for name in jars if (m := re.fullmatch(r"log4j-core-(\d[\w.-]*)\.jar", name))]
    if not core:
        return ["-Preload4j"]
    slf4j2 = any(re.fullmatch(r"slf4j-api-2\.[\w.-]+\.jar", name) for name in jars)
    return ["-Plog4j2", f"-Dlog4j.version={core[0]}",
            f"-Dlog4j.binding={'log4j-slf4j2-impl' if slf4j2 else 'log4j-slf4j-impl'}"]


def resolve(version: str, say: Callable[[str], None] = print) -> Path:
    """The release's jars in the cache, resolved now unless they are there already."""
    release_tuple(version)
    libs = libs_dir(version)
    if is_resolved(version):
        return libs
    if shutil.which("mvn") is None:
        raise EnvironmentProblem(f"Kafka {version} is not in {libs} and mvn is not on PATH to resolve it:"
                                 " install Maven (Debian: maven), or run `make install`")
    say(f"resolving Kafka {version} from Maven Central into {libs} (first use)")
    partial = libs.with_name("libs.partial")
    shutil.rmtree(partial, ignore_errors=True)
    _mvn(version, partial)                                  # what the release depends on
    _mvn(version, partial, *logging_profile(sorted(p.name for p in partial.iterdir())))  # and its backend
    (partial / ".complete").touch()
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    say(f"Kafka {version} resolved ({sum(1 for _ in libs.glob('*.jar'))} jars)")
    return libs


def logging_flags(version: str) -> list[str]:
    """The JVM flag naming the logging config of the backend the release was resolved with."""
    if any(libs_dir(version).glob("log4j-slf4j*-impl-*.jar")):
        return [f"-Dlog4j2.configurationFile={LOG4J2}"]
    return [f"-Dlog4j.configuration=file:{LOG4J}"]


def require_java() -> None:
    if shutil.which("java") is None:
        raise EnvironmentProblem("java not found on PATH: install a JDK 17+ (Debian: openjdk-17-jre-headless)")


def kafka_classpath(version: str | None = None) -> str:
    version = version or kafka_version()
    require_java()
    if not is_resolved(version):
        raise EnvironmentProblem(f"Kafka {version} jars not found in {libs_dir(version)}: run `aftershock install"
                                 f" kafka={version}` (or `make install` for the default)")
    return f"{libs_dir(version)}/*"


@functools.lru_cache(maxsize=1)
def java_version() -> str:
    """The JDK the nodes run on, as `java -version` names it (17.0.15), or 'unknown'."""
    try:
        said = subprocess.run(["java", "-version"], capture_output=True, text=True, timeout=30).stderr
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    match = re.search(r'version "([^"]+)"', said)
    return match.group(1) if match else "unknown"


def official_image(version: str | None = None) -> str:
    """apache/kafka at the release: what the Docker runtime runs by default."""
    return f"apache/kafka:{version or kafka_version()}"


def main() -> int:
    """Resolve releases given as arguments (default: the pom's); scripts/install.sh calls it."""
    import sys

    for version in sys.argv[1:] or [kafka_version()]:
        if is_resolved(version):
            print(f"kafka {version} already in {libs_dir(version)}")
        else:
            resolve(version)
    return 0

