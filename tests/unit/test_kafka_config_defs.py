"""broker_config checked against what the release defines (synthetic definitions here; the real
ones, read from each tested release's jars, in tests/integration/test_kafka_config_defs.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.brokers import provide_definitions
from harness.brokers.kafka import config_defs
from harness.brokers.kafka.config_defs import ConfigDefs, check_broker_settings
from harness.brokers.kafka.spec import KafkaSpec
from harness.errors import ScenarioError
from harness.scenario.loader import parse_scenario
from harness.scenario.located import LocatedValueError

DEFS = ConfigDefs("4.4.0",
                  broker={"min.insync.replicas": "INT", "log.retention.ms": "LONG", "num.io.threads": "INT",
                          "unclean.leader.election.enable": "BOOLEAN", "log.cleaner.min.cleanable.ratio": "DOUBLE",
                          "compression.type": "STRING", "replica.fetch.backoff.ms": "INT",
                          "queued.max.request.bytes": "LONG", "background.threads": "INT"},
                  topic={"retention.ms": "LONG", "min.insync.replicas": "INT"},
                  synonyms={"retention.ms": ("log.retention.ms", "log.retention.minutes")})


def _refusal(config: dict[str, object]) -> LocatedValueError:
    with pytest.raises(LocatedValueError) as caught:
        check_broker_settings(DEFS, config, ("broker_config",))
    return caught.value


def test_a_misspelt_key_is_refused_with_the_setting_it_was_meant_to_be() -> None:
    error = _refusal({"min.insync.replica": 2})
    assert error.loc == ("broker_config", "min.insync.replica")
    assert str(error) == ("min.insync.replica is not a setting Kafka 4.4.0's brokers define"
                          " (did you mean min.insync.replicas?)")


def test_a_key_nothing_resembles_gets_no_suggestion() -> None:
    error = _refusal({"zookeeper.connect": "x:2181"})
    assert str(error) == "zookeeper.connect is not a setting Kafka 4.4.0's brokers define"


def test_a_topic_setting_is_pointed_at_its_broker_wide_default() -> None:
    error = _refusal({"retention.ms": 1000})
    assert "retention.ms is a topic setting, not a broker setting of Kafka 4.4.0" in str(error)
    assert str(error).endswith("its broker-wide default is log.retention.ms")


@pytest.mark.parametrize(("key", "value", "says"), [
    ("num.io.threads", "lots", "num.io.threads takes a whole number (int), not 'lots'"),
    ("num.io.threads", 2.5, "takes a whole number (int), not 2.5"),
    ("num.io.threads", True, "takes a whole number (int), not True"),
    ("num.io.threads", 2**31, "num.io.threads 2147483648 is out of range for a int"),
    ("unclean.leader.election.enable", "yes", "takes true or false, not 'yes'"),
    ("unclean.leader.election.enable", 1, "takes true or false, not 1"),
    ("log.cleaner.min.cleanable.ratio", "half", "takes a number, not 'half'"),
    ("log.cleaner.min.cleanable.ratio", float("nan"), "takes a number, not nan"),
])
def test_a_value_its_type_cannot_hold_is_refused(key: str, value: object, says: str) -> None:
    error = _refusal({key: value})
    assert says in str(error) and error.loc == ("broker_config", key)


@pytest.mark.parametrize("config", [
    {"min.insync.replicas": 2, "log.retention.ms": "604800000", "num.io.threads": 4.0},
    {"unclean.leader.election.enable": False, "background.threads": "+8"},
    {"unclean.leader.election.enable": "TRUE", "log.cleaner.min.cleanable.ratio": 0.5},
    {"log.cleaner.min.cleanable.ratio": "0.25", "compression.type": "zstd", "queued.max.request.bytes": -1},
])
def test_values_of_the_right_type_pass(config: dict[str, object]) -> None:
    check_broker_settings(DEFS, config, ("broker_config",))


def test_a_scenario_names_the_line_of_a_misspelt_key_when_the_release_is_installed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_defs, "cached", lambda version: DEFS if version == "4.4.0" else None)
    text = ("name: t\ntarget:\n  kind: kafka\n  version: 4.4.0\n  broker_config:\n    num.io.threads: 4\n"
            "    min.insync.replica: 2\nload: {users: 1, rate: 10, duration: 5s}\n")
    with pytest.raises(ScenarioError) as caught:
        parse_scenario(text, "s.yaml")
    assert str(caught.value) == ("s.yaml:7:5: target.broker_config.min.insync.replica: min.insync.replica is not a"
                                 " setting Kafka 4.4.0's brokers define (did you mean min.insync.replicas?)")
    # a release not installed yet: its definitions are unknown, so only the harness's own rules apply
    # here, and the run checks it once it has resolved it (tests/integration/test_kafka_config_defs.py)
    assert parse_scenario(text.replace("4.4.0", "4.1.1"), "s.yaml").target.broker_config["min.insync.replica"] == 2


def test_cached_definitions_of_another_format_are_read_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(config_defs, "cache_dir", lambda: tmp_path)
    (tmp_path / "kafka-4.4.0").mkdir()
    body = {"broker": {"a.b": "INT"}, "topic": {}, "synonyms": {}}
    config_defs.path("4.4.0").write_text(json.dumps({**body, "format": config_defs.FORMAT + 1}))
    assert config_defs.cached("4.4.0") is None
    config_defs.path("4.4.0").write_text("{not json")
    assert config_defs.cached("4.4.0") is None
    config_defs.path("4.4.0").write_text(json.dumps({**body, "format": config_defs.FORMAT}))
    assert config_defs.cached("4.4.0") == ConfigDefs("4.4.0", {"a.b": "INT"}, {}, {})


def test_validation_never_fetches_a_release_and_a_run_does(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.brokers import kafka as kafka_broker
    from harness.brokers.kafka import dist

    fetched: list[str] = []
    read: list[str] = []
    monkeypatch.setattr(config_defs, "cached", lambda version: None)
    monkeypatch.setattr(dist, "is_resolved", lambda version: False)
    monkeypatch.setattr(kafka_broker, "_resolve", lambda spec, say: fetched.append(spec.version))
    monkeypatch.setattr(dist, "kafka_classpath", lambda version: f"/cache/kafka-{version}/libs/*")
    monkeypatch.setattr(config_defs, "ensure", lambda version, classpath, say: read.append(classpath))
    # a misspelt key too: making the definitions available never judges the spec (an error there
    # would have no line); the validation run again after does, at its line
    spec = KafkaSpec(kind="kafka", version="4.1.1", broker_config={"min.insync.replica": 2})
    assert provide_definitions([spec], print, fetch=False) is False and fetched == [] and read == []
    assert provide_definitions([spec], print, fetch=True) is True
    assert fetched == ["4.1.1"] and read == ["/cache/kafka-4.1.1/libs/*"]


@pytest.mark.parametrize(("reported", "wanted", "same"), [
    ("2", "2", True), ("true", "TRUE", True), ("1.0", "1", True), ("0.5", "0.50", True),
    ("gzip,zstd", "gzip, zstd", True), ("2", "3", False), ("false", "true", False), ("lz4", "zstd", False),
])
def test_a_reported_value_is_compared_as_the_broker_parsed_it(reported: str, wanted: str, same: bool) -> None:
    from harness.brokers.kafka.config import same_setting

    assert same_setting(reported, wanted) is same


class _Admin:
    """Answers DescribeConfigs as a cluster would: what each broker reports for the asked keys."""

    topic_configs: dict[str, str] = {}

    def __init__(self, reported: dict[str, dict[str, str | None]]) -> None:
        self.reported = reported
        self.asked: list[tuple[list[int], list[str], list[str]]] = []

    def settings(self, brokers: list[int], broker_keys: list[str], topic: str,
                 topic_keys: list[str]) -> dict[str, dict[str, dict[str, str | None]]]:
        self.asked.append((brokers, broker_keys, topic_keys))
        found = {"broker": {str(i): {k: self.reported[str(i)].get(k) for k in broker_keys} for i in brokers}}
        if topic_keys:
            found["topic"] = {topic: {k: self.reported[topic].get(k) for k in topic_keys}}
        return found


def _cluster(config: dict[str, object], admin: _Admin, topic: dict[str, object] | None = None) -> object:
    from harness.brokers.kafka.common import KafkaClusterBase

    cluster = object.__new__(KafkaClusterBase)
    cluster.spec = KafkaSpec(kind="kafka", broker_config=config,   # type: ignore[attr-defined]
                             topic={"config": topic or {}})
    cluster.admin = admin                                            # type: ignore[attr-defined]
    cluster.brokers = [1, 2, 3]                                      # type: ignore[attr-defined]
    return cluster


def test_settings_every_broker_reports_are_kept_for_the_results() -> None:
    admin = _Admin({str(i): {"min.insync.replicas": "2", "unclean.leader.election.enable": "false"} for i in (1, 2, 3)})
    cluster = _cluster({"min.insync.replicas": 2, "unclean.leader.election.enable": False}, admin)
    cluster._read_back_settings()   # type: ignore[attr-defined]
    assert admin.asked == [([1, 2, 3], ["min.insync.replicas", "unclean.leader.election.enable"], [])]
    assert cluster.settings()["broker"]["2"] == {  # type: ignore[attr-defined]
        "min.insync.replicas": "2", "unclean.leader.election.enable": "false"}


def test_a_setting_one_broker_does_not_run_stops_the_run() -> None:
    from harness.errors import ClusterError

    reported = {str(i): {"min.insync.replicas": "2"} for i in (1, 2, 3)}
    reported["3"]["min.insync.replicas"] = "1"
    with pytest.raises(ClusterError) as caught:
        _cluster({"min.insync.replicas": 2}, _Admin(reported))._read_back_settings()   # type: ignore[attr-defined]
    assert str(caught.value) == ("settings did not take: asked for min.insync.replicas=2, but broker 3 runs"
                                 " min.insync.replicas=1")


def test_a_value_a_broker_never_reports_is_not_taken_for_a_wrong_one() -> None:
    reported: dict[str, dict[str, str | None]] = {str(i): {"ssl.key.password": None} for i in (1, 2, 3)}
    cluster = _cluster({"ssl.key.password": "secret"}, _Admin(reported))
    cluster._read_back_settings()   # type: ignore[attr-defined]   # a password's value is never sent back
    assert cluster.settings()["broker"]["1"] == {"ssl.key.password": None}   # type: ignore[attr-defined]


def test_a_release_that_cannot_be_resolved_here_leaves_the_run_unchecked_and_says_so(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.brokers import kafka as kafka_broker
    from harness.brokers.kafka import dist
    from harness.errors import EnvironmentProblem

    said: list[str] = []

    def no_maven(spec: object, say: object) -> None:
        raise EnvironmentProblem("Kafka 4.1.1 is not in /cache and mvn is not on PATH to resolve it")

    monkeypatch.setattr(config_defs, "cached", lambda version: None)
    monkeypatch.setattr(dist, "is_resolved", lambda version: False)
    monkeypatch.setattr(kafka_broker, "_resolve", no_maven)
    assert provide_definitions([KafkaSpec(kind="kafka", version="4.1.1")], said.append, fetch=True) is False
    assert said == ["broker_config not checked against Kafka 4.1.1's own settings: Kafka 4.1.1 is not in /cache"
                    " and mvn is not on PATH to resolve it"]


def test_topic_settings_are_read_back_from_the_topic_and_one_that_did_not_take_stops_the_run() -> None:
    from harness.errors import ClusterError

    reported: dict[str, dict[str, str | None]] = {str(i): {} for i in (1, 2, 3)}
    reported["orders"] = {"retention.ms": "60000", "cleanup.policy": "delete"}
    cluster = _cluster({}, _Admin(reported), {"retention.ms": 60000, "cleanup.policy": "delete"})
    cluster._read_back_settings()   # type: ignore[attr-defined]
    assert cluster.settings()["topic"] == {"orders": {"cleanup.policy": "delete", "retention.ms": "60000"}}  # type: ignore[attr-defined]
    reported["orders"]["cleanup.policy"] = "compact"
    with pytest.raises(ClusterError) as caught:
        _cluster({}, _Admin(reported), {"cleanup.policy": "delete"})._read_back_settings()   # type: ignore[attr-defined]
    assert str(caught.value).endswith("but topic orders runs cleanup.policy=compact")


def test_topic_config_is_checked_against_the_topic_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.brokers.kafka.config_defs import check_topic_settings

    with pytest.raises(LocatedValueError) as caught:
        check_topic_settings(DEFS, {"retention.msec": 5}, ("topic", "config"))
    assert str(caught.value) == ("retention.msec is not a setting Kafka 4.4.0's topics define"
                                 " (did you mean retention.ms?)")
    with pytest.raises(LocatedValueError) as caught:
        check_topic_settings(DEFS, {"num.io.threads": 5}, ("topic", "config"))
    assert str(caught.value) == ("num.io.threads is a broker setting, not a topic setting of Kafka 4.4.0:"
                                 " set it in broker_config")
    monkeypatch.setattr(config_defs, "cached", lambda version: DEFS)
    text = ("name: t\ntarget:\n  kind: kafka\n  topic:\n    config: {retention.ms: soon}\n"
            "load: {users: 1, rate: 10, duration: 5s}\n")
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text, "s.yaml")
    assert str(error.value).startswith("s.yaml:5:14: target.topic.config.retention.ms: retention.ms takes a whole"
                                       " number (long), not 'soon'"), str(error.value)
    with pytest.raises(ScenarioError) as error:
        parse_scenario(text.replace("retention.ms: soon", "min.insync.replicas: 4"), "s.yaml")
    assert "min.insync.replicas 4 exceeds replication_factor 3" in str(error.value)
