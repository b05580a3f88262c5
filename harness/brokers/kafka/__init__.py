"""Apache Kafka in KRaft mode: its distribution, node configuration, admin queries, cluster
lifecycle, scenario spec and producer users, registered as `kind: kafka`."""

from __future__ import annotations

import struct
from collections.abc import Callable
from pathlib import Path
from typing import Any

from harness.brokers.base import Broker, Cluster, register_broker
from harness.brokers.kafka import spec as rules
from harness.brokers.kafka.dist import official_image
from harness.brokers.kafka.spec import KafkaSpec
from harness.errors import EnvironmentProblem


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
    """What a node form running Kafka on this host needs: the release (see _resolve), and the
    spec's settings checked against it."""
    _resolve(spec, say)
    _check_settings(spec, say)


def _resolve(spec: KafkaSpec, say: Callable[[str], None]) -> None:
    """The spec's release in the cache, resolved from Maven Central on its first use, and its
    class-data archive (faster broker start-ups from then on)."""
    from harness.brokers.kafka import cds
    from harness.brokers.kafka.dist import require_java, resolve

    require_java()   # the nodes, the storage format and the archive all run on it
    resolve(spec.version, say)
    if not cds.archive_path(spec.version).exists():
        say(f"building the class-data archive of Kafka {spec.version} (first use)")
        cds.ensure(spec.version, say)


def _check_settings(spec: KafkaSpec, say: Callable[[str], None]) -> None:
    """The last word before nodes start, whatever path the spec came by: its broker and topic
    settings are ones its release defines (validation said so, at the line, when it was installed)."""
    from harness.brokers.kafka import config_defs
    from harness.brokers.kafka.dist import kafka_classpath
    from harness.errors import ScenarioError
    from harness.scenario.located import LocatedValueError

    defs = config_defs.ensure(spec.version, kafka_classpath(spec.version), say)
    try:
        config_defs.check_spec_settings(defs, spec.broker_config, spec.topic.config, ("target",))
    except LocatedValueError as exc:
        raise ScenarioError(f"{'.'.join(map(str, exc.loc))}: {exc}") from None


def _definitions(spec: KafkaSpec, say: Callable[[str], None], fetch: bool) -> bool:
    """The settings the spec's release defines, read from its jars (resolved first when `fetch`);
    checking against them is validation's, which then points at the lines."""
    from harness.brokers.kafka import config_defs
    from harness.brokers.kafka.dist import is_resolved, kafka_classpath

    if config_defs.cached(spec.version) is not None:
        return False
    if not is_resolved(spec.version):
        if not fetch:
            return False
        try:
            _resolve(spec, say)
        except EnvironmentProblem as exc:   # e.g. no Maven where only images run: the run goes on unchecked
            say(f"broker_config not checked against Kafka {spec.version}'s own settings: {exc}")
            return False
    config_defs.ensure(spec.version, kafka_classpath(spec.version), say)
    return True


def _sample(nodes: int) -> KafkaSpec:
    return KafkaSpec(kind="kafka", nodes=nodes, topic={"replication_factor": min(3, nodes)})


def _recount(spec: KafkaSpec, run_dir: Path, acknowledged: Callable[[], set[int]]) -> dict[str, Any] | None:
    """Lost and log duplicates from every replica's final log of the run's topic (replica_log_check)."""
    if not spec.replica_log_check:
        return None
    from harness.brokers.kafka.log_truth import log_contents, recount

    return recount(log_contents(run_dir / "nodes", spec.topic.name, spec.version), acknowledged())


KAFKA = register_broker(Broker(
    kind="kafka", spec=KafkaSpec, rules=rules,
    clusters={"process": _processes, "image": _containers, "published": _attach},
    provide={"process": _release}, definitions=_definitions,
    users={"kafka-python": "harness.brokers.kafka.users:KafkaProducerUser",            # the default
           "confluent-kafka": "harness.brokers.kafka.confluent_user:ConfluentProducerUser"},  # librdkafka, faster
    image=official_image, sample=_sample, has_controller=True,
    processes=lambda spec: spec.processes, recount=_recount,
    # ApiVersions v0 (api key 18), correlation id 1, no client id: every release answers it first
    greeting=struct.pack(">ihhih", 10, 18, 0, 1, -1)))
