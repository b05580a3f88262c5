"""RabbitMQ from Debian's packages (or its image): node configuration, rabbitmqctl queries, cluster
lifecycle, scenario spec and producer users, registered as `kind: rabbitmq`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from harness.brokers.base import Broker, Cluster, register_broker
from harness.brokers.rabbitmq import spec as rules
from harness.brokers.rabbitmq.spec import RabbitSpec

OFFICIAL_IMAGE = "rabbitmq:3-management"


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


def _official_image(release: str | None = None) -> str:
    """rabbitmq:<series>-management for a release the scenario names; the default's otherwise."""
    return f"rabbitmq:{release}-management" if release else OFFICIAL_IMAGE


def _image_release(spec: RabbitSpec, say: Callable[[str], None]) -> None:
    """On local stand-ins, a release the host cannot install runs from an image made of its Debian
    root (built first, as for the local runtime), built on its first use."""
    import os
    import subprocess

    from harness.brokers.rabbitmq.dist import RELEASES
    from harness.brokers.rabbitmq.roots import build
    from harness.errors import EnvironmentProblem
    from harness.paths import REPO
    from harness.runtimes.images import image_for

    release = RELEASES[spec.version]
    image = image_for("rabbitmq", "" if release.suite is None else spec.version)
    if release.suite is None or image != f"aftershock/rabbitmq:{spec.version}":
        return
    if subprocess.run(["docker", "image", "inspect", image], capture_output=True).returncode == 0:
        return
    root = build(release.suite, say, release.script)
    say(f"building {image} from the Debian {release.suite} root (first use)")
    done = subprocess.run([str(REPO / "scripts" / "build-images.sh")], capture_output=True, text=True,
                          env={**os.environ, "RABBITMQ_RELEASES": f"{spec.version}={root}"})
    if done.returncode != 0:
        raise EnvironmentProblem(f"building {image} failed: {(done.stderr or done.stdout).strip()[-1500:]}")


def _containers(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.image_cluster import RabbitImageCluster

    return RabbitImageCluster(*args, **kwargs)


def _attach(*args: Any, **kwargs: Any) -> Cluster:
    from harness.brokers.rabbitmq.attached import RabbitAttached

    return RabbitAttached(*args, **kwargs)


RABBITMQ = register_broker(Broker(
    kind="rabbitmq", spec=RabbitSpec, rules=rules,
    clusters={"process": _processes, "image": _containers, "published": _attach},
    provide={"process": _release, "image": _image_release},
    users={"pika": "harness.brokers.rabbitmq.users:RabbitProducerUser"},
    image=_official_image, sample=lambda nodes: RabbitSpec(kind="rabbitmq", nodes=nodes)))
