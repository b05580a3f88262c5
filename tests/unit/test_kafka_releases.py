"""`target.version` on Kafka: any release from 3.9, validated where the scenario names it, resolved
once into the cache with the SLF4J backend its logging needs (log4j2 where the release brings
log4j-core), never used half-resolved. The resolution runs a stand-in `mvn` here (what it is asked
and what it leaves); tests/integration/test_kafka_versions.py resolves and runs real releases."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from harness.brokers.kafka import dist
from harness.errors import EnvironmentProblem, ScenarioError
from harness.scenario.loader import parse_scenario


def kafka(version_line: str, extra: str = "") -> str:
    return f"name: v\ntarget:\n  kind: kafka\n  {version_line}\n{extra}"


def test_the_default_release_is_the_poms_and_any_later_one_is_accepted() -> None:
    assert parse_scenario(kafka("nodes: 3")).target.version == dist.kafka_version()
    assert parse_scenario(kafka("version: 4.1.1")).target.version == "4.1.1"
    assert parse_scenario(kafka("version: '3.9.0'")).target.version == "3.9.0"


@pytest.mark.parametrize("line,says", [
    ("version: 4.1", "give the whole release, MAJOR.MINOR.PATCH"),      # YAML reads it as a number
    ("version: 3.8.1", "Aftershock runs Kafka 3.9 and later"),
    ("version: latest", "give a release as MAJOR.MINOR.PATCH"),
])
def test_a_release_that_cannot_be_run_is_refused_at_its_line(line: str, says: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(kafka(line), "v.yaml")
    assert "v.yaml:4:" in str(refused.value) and says in str(refused.value)


def test_version_is_a_matrix_key() -> None:
    scenario = parse_scenario(kafka("nodes: 3", "matrix:\n  target.version: [3.9.1, 4.1.1]\n"))
    from harness.scenario.matrix import variants

    assert [v.scenario.target.version for v in variants(scenario)] == ["3.9.1", "4.1.1"]


def test_a_compose_cluster_refuses_another_release_than_its_own() -> None:
    with pytest.raises(ScenarioError, match=r"v.yaml:4:.*version 4.1.1: a compose-managed cluster runs the release"):
        parse_scenario(kafka("version: 4.1.1", "runtime: compose\ncompose_project: p\n"), "v.yaml")


def test_the_docker_runtime_takes_any_release_the_local_one_does() -> None:
    assert parse_scenario(kafka("version: 4.1.1", "runtime: docker\n"), "v.yaml").target.version == "4.1.1"
    with pytest.raises(ScenarioError, match=r"v.yaml:4:.*version 3.8.1: Aftershock runs Kafka 3.9 and later"):
        parse_scenario(kafka("version: 3.8.1", "runtime: docker\n"), "v.yaml")


@pytest.mark.parametrize("jars,profile", [
    (["kafka_2.13-3.9.1.jar", "slf4j-api-1.7.36.jar"], ["-Preload4j"]),
    (["kafka_2.13-4.0.0.jar", "slf4j-api-1.7.36.jar"], ["-Preload4j"]),
    (["kafka_2.13-4.1.1.jar", "log4j-core-2.24.3.jar", "slf4j-api-1.7.36.jar"],
     ["-Plog4j2", "-Dlog4j.version=2.24.3", "-Dlog4j.binding=log4j-slf4j-impl"]),
    (["kafka_2.13-9.0.0.jar", "log4j-core-2.26.1.jar", "slf4j-api-2.0.17.jar"],
     ["-Plog4j2", "-Dlog4j.version=2.26.1", "-Dlog4j.binding=log4j-slf4j2-impl"]),
])
def test_the_logging_backend_follows_what_the_release_brings(jars: list[str], profile: list[str]) -> None:
    assert dist.logging_profile(jars) == profile


MVN = textwrap.dedent("""\
    #!/bin/sh
    # A stand-in mvn: records its arguments, and copies what the release would bring.
    echo "$@" >> "$MVN_CALLS"
    for arg in "$@"; do case "$arg" in -DoutputDirectory=*) out="${arg#-DoutputDirectory=}";; esac; done
    case "$*" in *kafka.version=4.4.4*)
      echo "[ERROR] Failed to execute goal: connect-api:jar:4.4.4 was not found"; exit 1;; esac
    mkdir -p "$out"
    case "$*" in *kafka.version=4.1.1*) touch "$out/kafka_2.13-4.1.1.jar" "$out/log4j-core-2.24.3.jar";; esac
    case "$*" in *kafka.version=3.9.2*) touch "$out/kafka_2.13-3.9.2.jar";; esac
    touch "$out/slf4j-api-1.7.36.jar"
    case "$*" in
      *-Plog4j2*) touch "$out/log4j-slf4j-impl-2.24.3.jar";;
      *-Preload4j*) touch "$out/slf4j-reload4j-1.7.36.jar";;
    esac
    """)


@pytest.fixture()
def stand_in_mvn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "mvn").write_text(MVN)
    (bin_dir / "mvn").chmod(stat.S_IRWXU)
    calls = tmp_path / "calls"
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("MVN_CALLS", str(calls))
    monkeypatch.setenv("AFTERSHOCK_CACHE", str(tmp_path / "cache"))
    return calls


def test_a_release_is_resolved_once_with_its_backend_and_progress_is_shown(stand_in_mvn: Path) -> None:
    said: list[str] = []
    libs = dist.resolve("4.1.1", said.append)
    assert sorted(p.name for p in libs.iterdir()) == [".complete", "kafka_2.13-4.1.1.jar", "log4j-core-2.24.3.jar",
                                                      "log4j-slf4j-impl-2.24.3.jar", "slf4j-api-1.7.36.jar"]
    calls = stand_in_mvn.read_text().splitlines()
    assert len(calls) == 2 and "-Dkafka.version=4.1.1" in calls[0] and "-P" not in calls[0]
    assert "-Plog4j2 -Dlog4j.version=2.24.3 -Dlog4j.binding=log4j-slf4j-impl" in calls[1]
    assert said[0].startswith("resolving Kafka 4.1.1 from Maven Central into") and "(first use)" in said[0]
    assert dist.logging_flags("4.1.1") == [f"-Dlog4j2.configurationFile={dist.LOG4J2}"]
    assert dist.kafka_classpath("4.1.1") == f"{libs}/*"
    dist.resolve("4.1.1", said.append)
    assert len(stand_in_mvn.read_text().splitlines()) == 2   # in the cache: not asked again


def test_a_release_before_log4j2_keeps_reload4j_and_its_config(stand_in_mvn: Path) -> None:
    dist.resolve("3.9.2", lambda _: None)
    assert "-Preload4j" in stand_in_mvn.read_text().splitlines()[1]
    assert dist.logging_flags("3.9.2") == [f"-Dlog4j.configuration=file:{dist.LOG4J}"]


def test_a_release_the_registry_cannot_serve_says_why_and_leaves_nothing_half_resolved(stand_in_mvn: Path) -> None:
    with pytest.raises(EnvironmentProblem, match="Kafka 4.4.4 could not be resolved from Maven Central: Failed"
                                                 " to execute goal: connect-api:jar:4.4.4 was not found"):
        dist.resolve("4.4.4", lambda _: None)
    assert not dist.libs_dir("4.4.4").exists() and not dist.is_resolved("4.4.4")
    with pytest.raises(EnvironmentProblem, match=r"aftershock install kafka=4.4.4"):
        dist.kafka_classpath("4.4.4")


@pytest.mark.parametrize("release,says", [
    ("kafka", "give KIND=VERSION with KIND one of kafka, rabbitmq"),
    ("nope=1.0.0", "give KIND=VERSION with KIND one of"),
    ("kafka=4.1", "give a release as MAJOR.MINOR.PATCH"),
    ("kafka=3.8.0", "Aftershock runs Kafka 3.9 and later"),
])
def test_install_refuses_what_it_cannot_fetch_and_says_how_to_write_it(
        release: str, says: str, capsys: pytest.CaptureFixture[str]) -> None:
    from harness.cli import main

    assert main(["install", release]) == 2
    assert says in capsys.readouterr().err


def test_install_fetches_a_release_as_a_first_run_would(stand_in_mvn: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture[str]) -> None:
    from harness.brokers.kafka import cds, config_defs
    from harness.cli import main

    built: list[str] = []
    read: list[str] = []
    monkeypatch.setattr(cds, "ensure", lambda version, say: built.append(version))

    def definitions(version: str, classpath: str, say: object) -> config_defs.ConfigDefs:
        read.append(version)   # the stand-in's jars are empty: what the release defines is read on a real one
        return config_defs.ConfigDefs(version, {}, {}, {})

    monkeypatch.setattr(config_defs, "ensure", definitions)
    assert main(["install", "kafka=4.1.1"]) == 0
    out = capsys.readouterr().out
    assert "resolving Kafka 4.1.1 from Maven Central" in out and "ok kafka=4.1.1" in out
    assert dist.is_resolved("4.1.1") and built == ["4.1.1"] and read == ["4.1.1"]
