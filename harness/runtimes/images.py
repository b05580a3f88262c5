"""Which image each kind of node runs from on the Docker runtime: the official images (the default,
pulled by the user), or the local stand-ins `make images` builds without a registry
(AFTERSHOCK_IMAGES=local). AFTERSHOCK_<ROLE>_IMAGE overrides one, as for docker-compose.yml."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from harness.errors import EnvironmentProblem

SETS = ("official", "local")


def official_images() -> dict[str, str]:
    """Each registered broker's own image (the role is its kind), and Toxiproxy's."""
    from harness.brokers import all_brokers
    from harness.services.toxiproxy import TOXIPROXY_VERSION

    return {**{kind: broker.image() for kind, broker in all_brokers().items()},
            "toxiproxy": f"ghcr.io/shopify/toxiproxy:{TOXIPROXY_VERSION}"}


def local_images() -> dict[str, str]:
    return {role: f"aftershock/{role}:local" for role in official_images()}


def image_set(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """role -> image, as AFTERSHOCK_IMAGES (and any AFTERSHOCK_<ROLE>_IMAGE) choose."""
    chosen = environ.get("AFTERSHOCK_IMAGES", "official")
    if chosen not in SETS:
        raise EnvironmentProblem(f"AFTERSHOCK_IMAGES={chosen!r}: use official (apache/kafka, rabbitmq, toxiproxy"
                                 " from their registries) or local (the stand-ins `make images` builds)")
    images = official_images() if chosen == "official" else local_images()
    return {role: environ.get(f"AFTERSHOCK_{role.upper()}_IMAGE", image) for role, image in images.items()}


def image_for(role: str, release: str, environ: Mapping[str, str] = os.environ) -> str:
    """The image a node of `role` runs to run `release` ("": the set's own image for the role):
    AFTERSHOCK_<ROLE>_IMAGE if set; else the official image at that release (apache/kafka:4.1.1), or
    the local stand-in built for it (aftershock/kafka:4.1.1)."""
    chosen = image_set(environ)
    override = environ.get(f"AFTERSHOCK_{role.upper()}_IMAGE")
    if override or not release:
        return chosen[role]
    if environ.get("AFTERSHOCK_IMAGES", "official") == "local":
        return f"aftershock/{role}:{release}"
    from harness.brokers import broker

    return broker(role).image(release)


def require_image(client: Any, image: str, environ: Mapping[str, str] = os.environ) -> None:
    """Exit 2 with the way to get `image` when the engine does not have it: the harness never pulls."""
    from docker.errors import ImageNotFound

    try:
        client.images.get(image)
    except ImageNotFound:
        where = environ.get("DOCKER_HOST", "the default Docker socket")
        if image.startswith("aftershock/"):
            how = ("run `make images` (builds the local stand-ins offline, DOCKER_HOST selecting the engine;"
                   " KAFKA_RELEASES=\"4.1.1 ...\" and RABBITMQ_RELEASES=\"4.0 4.3\" build those releases' too)")
        else:
            how = (f"pull it (`docker pull {image}`), or, without a registry, run `make images` and set"
                   " AFTERSHOCK_IMAGES=local")
        raise EnvironmentProblem(f"image {image} not found in the engine at {where}: {how}") from None
