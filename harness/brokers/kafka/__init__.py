"""Apache Kafka in KRaft mode: its distribution, node configuration, admin queries, cluster
lifecycle, scenario spec and producer users, registered as `kind: kafka`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.brokers.base import Broker, Cluster, register_broker
from harness.brokers.kafka import spec as rules
from harness.brokers.kafka.dist import official_image
from harness.brokers.kafka.spec import KafkaSpec


def _processes(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.kafka.cluster import KafkaCluster  # the cluster's clients load only when one runs

    return KafkaCluster(*args, **kwargs)


def _containers(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.kafka.image_cluster import KafkaImageCluster

    return KafkaImageCluster(*args, **kwargs)


def _attach(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.kafka.attached import KafkaAttached

    return KafkaAttached(*args, **kwargs)


def _release(spec: KafkaSpec, say: Callable[[str], None]) -> None:
    """The spec's release in the cache, resolved from Maven Central on its first use, and its
    class-data archive (faster broker start-ups from then on)."""
    from harness.brokers.kafka import cds
    from harness.brokers.kafka.dist import require_java, resolve

    require_java()   # the nodes, the storage format and the archive all run on it
    resolve(spec.version, say)
    if not cds.archive_path(spec.version).exists():
        say(f"building the class-data archive of Kafka {spec.version} (first use)")
        cds.ensure(spec.version, say)


def _image_release(spec: KafkaSpec, say: Callable[[str], None]) -> None:
    """On local stand-ins, the release's image is built on its first use, from its jars (resolved
    into the cache first); the official images are the user's to pull (the run says which is missing)."""
    import os
    import subprocess

    from harness.brokers.kafka.dist import kafka_version, resolve
    from harness.errors import EnvironmentProblem
    from harness.paths import REPO

    image = f"aftershock/kafka:{spec.version}"   # as runtimes.images.image_for names the stand-in
    if (os.environ.get("AFTERSHOCK_IMAGES") != "local" or os.environ.get("AFTERSHOCK_KAFKA_IMAGE")
            or spec.version == kafka_version()):   # the default release runs aftershock/kafka:local
        return
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
        return
    resolve(spec.version, say)
    say(f"building {image} from the Kafka {spec.version} jars (first use)")
    done = subprocess.run([str(REPO / "scripts" / "build-images.sh")], capture_output=True, text=True,
                          env={**os.environ, "KAFKA_RELEASES": spec.version})
    if done.returncode != 0:
        raise EnvironmentProblem(f"building {image} failed: {(done.stderr or done.stdout).strip()[-1500:]}")


def _sample(nodes: int) -> KafkaSpec:
    return KafkaSpec(kind="kafka", nodes=nodes, topic={"replication_factor": min(3, nodes)})


KAFKA = register_broker(Broker(
    kind="kafka", spec=KafkaSpec, rules=rules,
    clusters={"process": _processes, "image": _containers, "published": _attach},
    provide={"process": _release, "image": _image_release},
    users={"kafka-python": "harness.brokers.kafka.users:KafkaProducerUser",            # the default
           "confluent-kafka": "harness.brokers.kafka.confluent_user:ConfluentProducerUser"},  # librdkafka, faster
    image=official_image, sample=_sample, has_controller=True))
