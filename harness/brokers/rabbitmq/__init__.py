"""RabbitMQ from Debian's packages (or its image): node configuration, rabbitmqctl queries, cluster
lifecycle, scenario spec and producer users, registered as `kind: rabbitmq`."""

from __future__ import annotations

from typing import Any

from harness.brokers.base import Broker, Cluster, register_broker
from harness.brokers.rabbitmq import spec as rules
from harness.brokers.rabbitmq.spec import RabbitSpec

OFFICIAL_IMAGE = "rabbitmq:3-management"


def _processes(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.cluster import RabbitCluster  # pika loads only when a cluster runs

    return RabbitCluster(*args, **kwargs)


def _containers(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.image_cluster import RabbitImageCluster

    return RabbitImageCluster(*args, **kwargs)


def _attach(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.attached import RabbitAttached

    return RabbitAttached(*args, **kwargs)


RABBITMQ = register_broker(Broker(
    kind="rabbitmq", spec=RabbitSpec, rules=rules,
    clusters={"process": _processes, "image": _containers, "published": _attach},
    users={"pika": "harness.brokers.rabbitmq.users:RabbitProducerUser"},
    image=lambda: OFFICIAL_IMAGE, sample=lambda nodes: RabbitSpec(kind="rabbitmq", nodes=nodes)))
