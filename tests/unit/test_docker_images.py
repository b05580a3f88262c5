"""The Docker runtime's image contracts, without an engine: Kafka properties as apache/kafka's KAFKA_*
variables, the image chosen by AFTERSHOCK_IMAGES, and the error when the engine lacks an image."""

from __future__ import annotations

import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from docker.errors import ImageNotFound

from harness.brokers.kafka.dist import kafka_version
from harness.brokers.kafka.image import DATA_DIR, kafka_contract, property_env, property_name
from harness.errors import EnvironmentProblem, ScenarioError
from harness.runtimes.images import image_for, image_set, require_image
from harness.services.toxiproxy import TOXIPROXY_VERSION

ENTRYPOINT = Path(__file__).resolve().parents[2] / "targets" / "kafka" / "image" / "entrypoint.sh"


@pytest.mark.parametrize("name, var", [
    ("min.insync.replicas", "KAFKA_MIN_INSYNC_REPLICAS"),
    ("log.dirs", "KAFKA_LOG_DIRS"),
    ("offsets.topic.replication.factor", "KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR"),
    ("confluent_style.some-name", "KAFKA_CONFLUENT__STYLE_SOME___NAME"),   # '_' -> '__', '-' -> '___'
])
def test_properties_become_apache_kafka_variables_and_read_back_unchanged(name: str, var: str) -> None:
    assert property_env(name) == var
    assert property_name(var) == name


def test_the_stand_in_image_reads_the_variables_as_apache_kafka_does() -> None:
    """The decoding line of targets/kafka/image/entrypoint.sh, run by sh, agrees with apache/kafka's."""
    line = next(text for text in ENTRYPOINT.read_text().splitlines() if "name=$(" in text)
    decode = line.strip().removeprefix("name=$(").removesuffix(")").replace('"${key#KAFKA_}"', '"$1"')
    for name in ["min.insync.replicas", "confluent_style.some-name", "transaction.state.log.min.isr"]:
        done = subprocess.run(["sh", "-c", decode, "sh", property_env(name).removeprefix("KAFKA_")],
                              capture_output=True, text=True, timeout=10)
        assert done.stdout == name, (name, done.stdout, done.stderr)


def test_kafka_contract_carries_cluster_id_heap_and_the_mounted_data_dir(tmp_path: Path) -> None:
    props = {"node.id": "2", "log.dirs": DATA_DIR, "unclean.leader.election.enable": "false"}
    contract = kafka_contract(props, "pX5eDAwMShGeXAEjRWeJqw", "384m", tmp_path / "data")
    assert contract.role == "kafka"
    assert contract.env["KAFKA_NODE_ID"] == "2" and contract.env["KAFKA_LOG_DIRS"] == DATA_DIR
    assert contract.env["KAFKA_UNCLEAN_LEADER_ELECTION_ENABLE"] == "false"
    assert contract.env["CLUSTER_ID"] == "pX5eDAwMShGeXAEjRWeJqw"
    assert contract.env["KAFKA_HEAP_OPTS"] == "-Xms384m -Xmx384m"
    assert contract.mounts == {DATA_DIR: tmp_path / "data"}


def test_a_property_the_image_would_misread_is_a_scenario_error(tmp_path: Path) -> None:
    # apache/kafka's converter leaves a one-letter segment's underscore alone: a.b.c would come back a.b_c
    with pytest.raises(ScenarioError, match="a.b.c"):
        kafka_contract({"a.b.c": "1"}, "id", "256m", tmp_path)


def test_official_images_are_the_default() -> None:
    assert image_set({}) == {"kafka": f"apache/kafka:{kafka_version()}", "rabbitmq": "rabbitmq:3-management",
                             "toxiproxy": f"ghcr.io/shopify/toxiproxy:{TOXIPROXY_VERSION}"}


def test_local_images_are_the_stand_ins_make_images_builds() -> None:
    assert image_set({"AFTERSHOCK_IMAGES": "local"}) == {
        "kafka": "aftershock/kafka:local", "rabbitmq": "aftershock/rabbitmq:local",
        "toxiproxy": "aftershock/toxiproxy:local"}
    chosen = image_set({"AFTERSHOCK_IMAGES": "local", "AFTERSHOCK_KAFKA_IMAGE": "mine/kafka:1"})
    assert chosen["kafka"] == "mine/kafka:1" and chosen["rabbitmq"] == "aftershock/rabbitmq:local"


def test_an_unknown_image_set_is_an_environment_problem() -> None:
    with pytest.raises(EnvironmentProblem, match="AFTERSHOCK_IMAGES='host'.*official.*local"):
        image_set({"AFTERSHOCK_IMAGES": "host"})


def _engine_without_images() -> SimpleNamespace:
    def get(name: str) -> None:
        raise ImageNotFound(f"No such image: {name}")

    return SimpleNamespace(images=SimpleNamespace(get=get))


def test_a_missing_official_image_says_to_pull_it_or_build_the_stand_ins() -> None:
    with pytest.raises(EnvironmentProblem) as caught:
        require_image(_engine_without_images(), "rabbitmq:3-management", {"DOCKER_HOST": "unix:///x.sock"})
    message = str(caught.value)
    assert "rabbitmq:3-management not found in the engine at unix:///x.sock" in message
    assert "docker pull rabbitmq:3-management" in message and "make images" in message
    assert "AFTERSHOCK_IMAGES=local" in message


def test_a_missing_stand_in_says_make_images() -> None:
    with pytest.raises(EnvironmentProblem, match=r"aftershock/kafka:local not found .*`make images`"):
        require_image(_engine_without_images(), "aftershock/kafka:local", {})


def test_a_node_runs_the_image_of_its_release() -> None:
    """apache/kafka:<release>, or the stand-in built for that release; an override still wins."""
    assert image_for("kafka", "4.1.1", {}) == "apache/kafka:4.1.1"
    assert image_for("kafka", "4.1.1", {"AFTERSHOCK_IMAGES": "local"}) == "aftershock/kafka:4.1.1"
    assert image_for("kafka", "4.1.1", {"AFTERSHOCK_KAFKA_IMAGE": "mine/kafka:x"}) == "mine/kafka:x"
    assert image_for("rabbitmq", "", {"AFTERSHOCK_IMAGES": "local"}) == "aftershock/rabbitmq:local"


def test_a_kafka_node_names_a_release_other_than_the_default(tmp_path: Path) -> None:
    from harness.brokers.kafka.image_cluster import KafkaImageCluster
    from harness.brokers.kafka.spec import KafkaSpec

    runtime = SimpleNamespace(address=lambda i: f"10.0.0.{i}", free_port=lambda: 9092, isolated=True,
                              run_id="as-unit", client_host="10.0.0.1", proxy_node=None)
    cluster = KafkaImageCluster.__new__(KafkaImageCluster)
    spec = KafkaSpec(kind="kafka", nodes=1, version="4.1.1", topic={"replication_factor": 1})
    cluster.spec, cluster.runtime, cluster.dir, cluster.cluster_id = spec, runtime, tmp_path, "AAAAAAAAAAAAAAAAAAAAAA"
    cluster.node_properties = lambda i: {"node.id": str(i)}   # type: ignore[method-assign]  # only its naming here
    assert cluster._node_spec(1).image.release == "4.1.1"
    cluster.spec = KafkaSpec(kind="kafka", nodes=1, topic={"replication_factor": 1})
    assert cluster._node_spec(1).image.release == ""   # the default release: the image set's own


@pytest.mark.parametrize("jars,flag", [
    (["kafka_2.13-3.9.1.jar", "slf4j-reload4j-1.7.36.jar"],
     "-Dlog4j.configuration=file:/opt/kafka/config/log4j.properties"),
    (["kafka_2.13-4.1.1.jar", "log4j-slf4j-impl-2.24.3.jar"],
     "-Dlog4j2.configurationFile=/opt/kafka/config/log4j2.properties"),
])
def test_the_stand_in_logs_through_the_backend_its_release_brings(tmp_path: Path, jars: list[str], flag: str) -> None:
    """The entrypoint's choice, run with the jars of a release (the same rule as dist.logging_flags)."""
    libs = tmp_path / "opt" / "kafka" / "libs"
    libs.mkdir(parents=True)
    for jar in jars:
        (libs / jar).touch()
    script = ENTRYPOINT.read_text()
    start = script.index("if ls /opt/kafka/libs")
    choice = script[start:script.index("fi\n", start) + 3]
    done = subprocess.run(["sh", "-c", choice.replace("/opt/kafka/libs", str(libs)) + 'printf %s "$log4j"'],
                          capture_output=True, text=True, check=True)
    assert done.stdout == flag
