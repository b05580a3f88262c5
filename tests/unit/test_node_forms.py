"""One way to launch a node: each runtime declares the form it runs a node in (a local process, its
broker's image, a cluster someone else published), and the broker brings one cluster class per
form. The forms of one broker describe the same node from the same settings; a broker lacking the
runtime's form is refused at validation, where the scenario names the runtime."""

from __future__ import annotations

import itertools
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from pydantic import ValidationError
from run_standins import BROKER, KIND, StandinSpec

from harness.brokers import all_brokers
from harness.brokers.base import BROKERS
from harness.brokers.kafka import cluster as kafka_processes
from harness.brokers.kafka.dist import kafka_version
from harness.brokers.kafka.image import DATA_DIR, property_env
from harness.brokers.kafka.image_cluster import KafkaImageCluster
from harness.brokers.kafka.spec import KafkaSpec
from harness.brokers.rabbitmq import cluster as rabbit_processes
from harness.brokers.rabbitmq.dist import RABBIT_BIN
from harness.brokers.rabbitmq.image_cluster import CONF_D, RabbitImageCluster
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.runtimes import NODE_FORMS, RUNTIME_KINDS
from harness.runtimes.compose import ComposeRuntime
from harness.runtimes.docker import DockerRuntime
from harness.runtimes.local import LocalRuntime
from harness.scenario.model import Scenario


class StandinScenario(Scenario):
    target: StandinSpec  # type: ignore[assignment]


class FixedRuntime:
    """Ports counted from one number and an address per node, whatever the form: the two forms of a
    broker then plan the same ports, so what they describe can be compared."""

    run_id = "as-forms"
    isolated = True
    client_host = "10.9.0.254"

    def __init__(self, node_form: str) -> None:
        self.node_form = node_form
        self._ports = itertools.count(20000)

    def free_port(self) -> int:
        return next(self._ports)

    def address(self, node: int) -> str:
        return f"10.9.0.{node}"

    def process(self, spec: Any) -> Any:
        return SimpleNamespace(name=spec.name, spec=spec)

    def image(self, node: int) -> str:
        return "aftershock/test:1"


def test_each_runtime_declares_one_known_form_and_its_kind_says_the_same() -> None:
    runtimes = {"local": LocalRuntime, "docker": DockerRuntime, "compose": ComposeRuntime}
    assert set(runtimes) == set(RUNTIME_KINDS)
    for name, kind in RUNTIME_KINDS.items():
        assert kind.node_form in NODE_FORMS
        assert runtimes[name].node_form == kind.node_form, name


def test_the_built_in_brokers_bring_a_cluster_for_every_form_a_runtime_runs() -> None:
    forms = {kind.node_form for kind in RUNTIME_KINDS.values()}
    for kind, broker in all_brokers().items():
        if kind in ("kafka", "rabbitmq"):
            assert set(broker.clusters) == forms, kind


@pytest.mark.filterwarnings("ignore:(read|open)_text is deprecated:DeprecationWarning")   # kafka-python's import
def test_kafka_forms_describe_the_same_node_the_image_by_its_variables(tmp_path: Path,
                                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_processes, "kafka_classpath", lambda version=None: "/nowhere/*")
    monkeypatch.setattr(kafka_processes.cds, "jvm_flags", lambda version: [])
    spec = KafkaSpec(kind="kafka", nodes=3, broker_config={"min.insync.replicas": 2})
    host = kafka_processes.KafkaCluster(spec, FixedRuntime("process"), tmp_path / "p")   # type: ignore[arg-type]
    image = KafkaImageCluster(spec, FixedRuntime("image"), tmp_path / "i")              # type: ignore[arg-type]
    for i in (1, 2, 3):
        on_host, in_image = host.node_properties(i), image.node_properties(i)
        assert on_host.pop("log.dirs") == str(tmp_path / "p" / "nodes" / f"kafka-{i}" / "data")
        assert in_image.pop("log.dirs") == DATA_DIR
        assert on_host == in_image   # listeners, voters, identities, the scenario's settings
        argv = host.nodes[i].spec.argv
        assert argv[0] == "java" and argv[-2:] == ["kafka.Kafka", str(host.dir / f"kafka-{i}" / "server.properties")]
        assert host.nodes[i].spec.image is None
        contract = image.nodes[i].spec.image
        assert image.nodes[i].spec.argv == [] and contract.role == "kafka"
        assert contract.env[property_env("node.id")] == str(i) and contract.env["CLUSTER_ID"] == image.cluster_id
        assert contract.env[property_env("log.dirs")] == DATA_DIR
        assert contract.mounts == {DATA_DIR: image.dir / f"kafka-{i}" / "data"}
    assert host.versions()["kafka"] == spec.version == kafka_version()
    # A container's release is the one its broker logs at start-up; the image is recorded beside it.
    assert image.versions()["kafka"] == "unknown" and image.versions()["image"] == "aftershock/test:1"
    (image.dir / "kafka-2").mkdir(parents=True, exist_ok=True)
    (image.dir / "kafka-2" / "node.log").write_text("[x] INFO Kafka version: 3.9.1 (AppInfoParser)\n")
    assert image.versions()["kafka"] == "3.9.1"


def test_the_image_form_prepares_by_opening_its_data_dirs_the_process_form_by_formatting(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kafka_processes, "kafka_classpath", lambda version=None: "/nowhere/*")
    formatted: list[str] = []
    monkeypatch.setattr(kafka_processes.KafkaCluster, "_format", lambda self: formatted.append("format"))
    spec = KafkaSpec(kind="kafka", nodes=1, topic={"replication_factor": 1})
    host = kafka_processes.KafkaCluster(spec, FixedRuntime("process"), tmp_path / "p")   # type: ignore[arg-type]
    image = KafkaImageCluster(spec, FixedRuntime("image"), tmp_path / "i")              # type: ignore[arg-type]
    for cluster in (host, image):
        cluster._write_properties()
        cluster._prepare()
    assert formatted == ["format"]   # the image's entrypoint formats its own storage
    assert (image.dir / "kafka-1" / "data").stat().st_mode & 0o777 == 0o777   # apache/kafka's appuser writes it
    assert (host.dir / "kafka-1" / "data").stat().st_mode & 0o777 != 0o777


def test_rabbitmq_forms_share_the_config_and_differ_in_naming_and_where_rabbitmqctl_runs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rabbit_processes, "rabbitmq_version", lambda: "3.10.8")
    spec = RabbitSpec(kind="rabbitmq", nodes=3, broker_config={"cluster_partition_handling": "pause_minority"})
    host = rabbit_processes.RabbitCluster(spec, FixedRuntime("process"), tmp_path / "p")   # type: ignore[arg-type]
    image = RabbitImageCluster(spec, FixedRuntime("image"), tmp_path / "i")              # type: ignore[arg-type]
    for i in (1, 2, 3):
        assert host.node_conf(i) == image.node_conf(i)
        assert host.node_names[i] == f"asforms-{i}@10.9.0.{i}" and image.node_names[i] == f"rabbit@rabbit-{i}"
        assert host.nodes[i].spec.argv == [str(RABBIT_BIN / "rabbitmq-server")]
        contract = image.nodes[i].spec.image
        assert contract.hostname == f"rabbit-{i}"
        assert contract.mounts == {CONF_D: image.dir / f"rabbit-{i}" / "rabbitmq.conf"}
        assert contract.env["RABBITMQ_ERLANG_COOKIE"] == image.cookie
    assert host._ctl_command(1) == [str(RABBIT_BIN / "rabbitmqctl")] and image._ctl_command(1) == ["rabbitmqctl"]
    warned = "WARNING: RABBITMQ_ERLANG_COOKIE env variable support is deprecated\n[]\n"
    assert image._ctl_output(warned) == "[]\n" and host._ctl_output(warned) == warned
    assert host._env(1)["ERL_EPMD_PORT"] == str(host.epmd_port) and image._env(1) == {}
    assert host.versions()["rabbitmq"] == "3.10.8"
    status = ('WARNING: RABBITMQ_ERLANG_COOKIE env variable support is deprecated\n{"rabbitmq_version": "4.0.5",'
              ' "erlang_version": "Erlang/OTP 27 [erts-15.2.7] [source] [64-bit]"}\n')
    monkeypatch.setattr(image, "ctl", lambda i, *args, **kw: SimpleNamespace(stdout=image._ctl_output(status)))
    assert image.versions() | {"pika": ""} == {"rabbitmq": "4.0.5", "erlang": "27 (erts 15.2.7)",
                                               "image": "aftershock/test:1", "pika": "",
                                               "metadata_store": "unknown"}
    monkeypatch.setattr(image, "ctl", lambda i, *args, **kw: SimpleNamespace(stdout="Error: unable to connect"))
    assert image.versions()["rabbitmq"] == image.versions()["erlang"] == "unknown"


def test_a_runtime_whose_form_the_broker_lacks_is_refused_at_the_runtime(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(BROKERS, KIND, BROKER)   # the stand-in broker brings the process form only
    base = {"name": "forms", "target": {"kind": KIND, "nodes": 3}}
    assert StandinScenario.model_validate({**base, "runtime": "local"}).runtime == "local"
    with pytest.raises(ValidationError) as refused:
        StandinScenario.model_validate({**base, "runtime": "docker"})
    error = refused.value.errors()[0]
    assert error["ctx"]["error"].loc == ("runtime",)   # the loader turns it into the runtime line's file:line
    assert "runtime docker runs each node from its broker's image" in error["msg"]
    assert "which this broker cannot" in error["msg"] and "use runtime: local" in error["msg"]


def test_what_a_runtime_cannot_do_is_refused_from_its_declaration_not_its_name(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The same `local` runtime, declared without proxies and acting on a project, refuses link faults
    and a missing project at their lines, as compose does."""
    from harness.errors import ScenarioError
    from harness.scenario.loader import parse_scenario

    text = ("name: caps\ntarget: {kind: kafka}\nruntime: local\ncompose_project: shop\n"
            "faults:\n  - {at: 1s, action: latency, link: client->any, latency: 50ms}\n")
    assert parse_scenario(text.replace("compose_project: shop\n", "")).runtime == "local"
    lacking = SimpleNamespace(node_form="process", no_proxies="this stand-in has no proxies", acts_on_project=True)
    monkeypatch.setitem(RUNTIME_KINDS, "local", lacking)
    with pytest.raises(ScenarioError, match=r"s\.yaml:6:.*latency is a Toxiproxy link fault: this stand-in has no"):
        parse_scenario(text, "s.yaml")
    with pytest.raises(ScenarioError, match=r"s\.yaml:3:.*runtime local acts on the containers of one"):
        parse_scenario(text.replace("compose_project: shop\n", "").split("faults:")[0], "s.yaml")
