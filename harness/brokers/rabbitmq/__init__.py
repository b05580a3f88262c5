"""RabbitMQ from Debian's packages (or its image): node configuration, rabbitmqctl queries, cluster
lifecycle, scenario spec and producer users, registered as `kind: rabbitmq`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.brokers.base import Broker, Cluster, register_broker
from harness.brokers.rabbitmq import spec as rules
from harness.brokers.rabbitmq.spec import RabbitSpec

OFFICIAL_IMAGE = "rabbitmq:3-management"


def official_image(release: str | None = None) -> str:
    """The official image with the management plugin, at a release series when one is asked for."""
    return f"rabbitmq:{release}-management" if release else OFFICIAL_IMAGE


def _processes(spec: RabbitSpec, *args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.cluster import RabbitCluster  # pika loads only when a cluster runs
    from harness.brokers.rabbitmq.dist import RELEASES
    from harness.brokers.rabbitmq.rooted import RabbitRootCluster

    if RELEASES[spec.version].suite is None:   # the host's own packages
        return RabbitCluster(spec, *args, **kwargs)
    return RabbitRootCluster(spec, *args, **kwargs)


def _release(spec: RabbitSpec, say: Callable[[str], None]) -> None:
    """A release the host cannot install runs from a Debian root, built on its first use."""
    from harness.brokers.rabbitmq.dist import RELEASES
    from harness.brokers.rabbitmq.roots import build

    release = RELEASES[spec.version]
    if release.suite is not None:
        build(release.suite, say, release.script)


def _containers(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.image_cluster import RabbitImageCluster

    return RabbitImageCluster(*args, **kwargs)


def _attach(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.attached import RabbitAttached

    return RabbitAttached(*args, **kwargs)


RABBITMQ = register_broker(Broker(
    kind="rabbitmq", spec=RabbitSpec, rules=rules,
    clusters={"process": _processes, "image": _containers, "published": _attach}, provide={"process": _release},
    users={"pika": "harness.brokers.rabbitmq.users:RabbitProducerUser"},
    image=official_image, sample=lambda nodes: RabbitSpec(kind="rabbitmq", nodes=nodes),
    greeting=b"AMQP\x00\x00\x09\x01"))   # AMQP 0-9-1's protocol header: the node answers Connection.Start
