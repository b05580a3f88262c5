#!/usr/bin/env bash
# Builds, without any image registry, the images the Docker runtime runs its nodes from when
# AFTERSHOCK_IMAGES=local (the tests set it), and that docker-compose.yml can use in place of the
# official ones: aftershock/kafka:local, aftershock/rabbitmq:local and aftershock/toxiproxy:local,
# stand-ins that keep apache/kafka's, rabbitmq:3-management's and ghcr.io/shopify/toxiproxy's
# contracts (targets/*/image/). They are built on a base, aftershock/node:1: Debian made by
# debootstrap from Debian's package mirror (a package registry), with a JRE and rabbitmq-server from
# Debian's packages, imported with `docker import`; the Kafka jars and the Toxiproxy binary come from
# the install step's cache. With a registry, the official images need none of this (`docker pull`).
# RABBITMQ_RELEASES="4.0 4.3" also builds aftershock/rabbitmq:<series> on the Debian root that series
# runs from locally (`aftershock install rabbitmq=4.0` builds the root first), imported as its base.
# Idempotent: skips an image already built from the same sources.
# Usage: scripts/build-images.sh   (DOCKER_HOST selects the engine)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${AFTERSHOCK_CACHE:-$HOME/.cache/aftershock}
MIRROR=${AFTERSHOCK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
IMAGE=aftershock/node:1   # the base of the stand-ins; no node runs in it directly
PACKAGES="openjdk-17-jre-headless rabbitmq-server procps iproute2 ca-certificates"
PYTHON=${PYTHON:-.venv/bin/python}

command -v docker >/dev/null || { echo "error: docker client not found: run make install-docker" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "error: no Docker engine at ${DOCKER_HOST:-the default socket}" >&2; exit 2; }

# Stand-ins for the official images: `build_compose_image NAME DIR PAYLOAD...` copies
# DIR's Dockerfile and scripts and the payload into a context and builds NAME on the node image
# (or on $BASE_IMAGE, with $BUILD_ARGS added, when set).
build_compose_image() {
  local name=$1 dir=$2; shift 2
  local source base=${BASE_IMAGE:-$IMAGE}
  source=$( (cat "$dir"/*; for f in "$@"; do if [ -d "$f" ]; then ls -l "$f"; else stat -c '%s %Y' "$f"; fi; done
            echo "${BUILD_ARGS:-}"; docker image inspect -f '{{.Id}}' "$base") | sha256sum | cut -c1-16)
  if [ "$(docker image inspect -f '{{index .Config.Labels "dev.aftershock.source"}}' "$name" 2>/dev/null)" = "$source" ]; then
    echo "$name already built"; return
  fi
  local ctx; ctx=$(mktemp -d "$CACHE/images/context.XXXXXX")
  cp -r "$dir"/. "$ctx"/
  for f in "$@"; do cp -r "$f" "$ctx"/; done
  # The classic builder: it needs no buildx plugin and no registry (the base is local).
  # shellcheck disable=SC2086  # BUILD_ARGS is a list of --build-arg words
  if ! DOCKER_BUILDKIT=0 docker build -q --build-arg "BASE=$base" ${BUILD_ARGS:-} --label "dev.aftershock.source=$source" \
       -t "$name" "$ctx" >/dev/null 2>"$ctx.log"; then
    cat "$ctx.log" >&2; rm -rf "$ctx" "$ctx.log"; echo "error: building $name failed" >&2; exit 1
  fi
  rm -rf "$ctx" "$ctx.log"
  echo "$name built"
}

build_compose_images() {
  local version toxi_version
  version=$(sed -n 's:.*<kafka.version>\(.*\)</kafka.version>.*:\1:p' targets/kafka/pom.xml)
  toxi_version=$(sed -n 's/^TOXIPROXY_VERSION = "\(.*\)"/\1/p' harness/services/toxiproxy.py)
  [ -d "$CACHE/kafka-$version/libs" ] || { echo "error: Kafka jars missing: run make install" >&2; exit 2; }
  mkdir -p "$CACHE/images"
  # The default release as aftershock/kafka:local (docker-compose.yml's), and every release as
  # aftershock/kafka:<release>: the default's and KAFKA_RELEASES' (each resolved into the cache first,
  # by `aftershock install kafka=<release>`), which the Docker runtime runs for target.version.
  local release
  for release in $version ${KAFKA_RELEASES:-}; do
    [ -d "$CACHE/kafka-$release/libs" ] || { echo "error: Kafka $release jars missing: run aftershock install kafka=$release" >&2; exit 2; }
    build_compose_image "aftershock/kafka:$release" targets/kafka/image "$CACHE/kafka-$release/libs" \
      targets/kafka/log4j.properties targets/kafka/log4j2.properties
  done
  docker tag "aftershock/kafka:$version" aftershock/kafka:local
  build_compose_image aftershock/rabbitmq:local targets/rabbitmq/image
  local series
  for series in ${RABBITMQ_RELEASES:-}; do
    build_rabbitmq_release "$series"
  done
  local toxi_ctx; toxi_ctx=$(mktemp -d "$CACHE/images/toxiproxy.XXXXXX")
  cp -p "$CACHE/bin/toxiproxy-server-$toxi_version" "$toxi_ctx/toxiproxy"
  build_compose_image aftershock/toxiproxy:local targets/toxiproxy/image "$toxi_ctx/toxiproxy"
  rm -rf "$toxi_ctx"
}

# aftershock/rabbitmq:<series>: the series' Debian root (the one the local runtime chroots into),
# imported once as aftershock/rabbitmq-root:<series>, with the stand-in's contract on top.
build_rabbitmq_release() {
  local series=$1 root base plugins
  root=$("$PYTHON" -c "import sys; from harness.brokers.rabbitmq.dist import RELEASES; from harness.brokers.rabbitmq.roots import root_dir
r = RELEASES.get(sys.argv[1]); print(root_dir(r.suite) if r and r.suite else '')" "$series")
  [ -n "$root" ] || { echo "error: RabbitMQ $series does not run from a Debian root: RABBITMQ_RELEASES takes 4.0 or 4.3" >&2; exit 2; }
  [ -f "$root/.complete" ] || { echo "error: the RabbitMQ $series root is missing: run aftershock install rabbitmq=$series" >&2; exit 2; }
  base="aftershock/rabbitmq-root:$series"
  local stamp; stamp=$(stat -c '%Y' "$root/.complete")
  if [ "$(docker image inspect -f '{{index .Config.Labels "dev.aftershock.source"}}' "$base" 2>/dev/null)" != "$stamp" ]; then
    tar -C "$root" --exclude=./proc --exclude=./sys --exclude=./dev --exclude=./aftershock -c . | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' --change 'ENV LANG=C.UTF-8' \
      --change "LABEL dev.aftershock.source=$stamp" - "$base" >/dev/null
    echo "$base imported from $root"
  fi
  plugins=$(cd "$root" && ls -d usr/lib/rabbitmq/lib/rabbitmq_server-*/plugins | head -n 1)
  [ -n "$plugins" ] || { echo "error: no plugins directory in $root" >&2; exit 2; }
  BASE_IMAGE=$base BUILD_ARGS="--build-arg PLUGINS_DIR=/$plugins" \
    build_compose_image "aftershock/rabbitmq:$series" targets/rabbitmq/image
}

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already built"
  build_compose_images
  exit 0
fi
[ "$(id -u)" = 0 ] || { echo "error: building the base with debootstrap needs root" >&2; exit 2; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null

mkdir -p "$CACHE/images"
rootfs=$(mktemp -d "$CACHE/images/rootfs.XXXXXX")
cleanup() {
  for m in proc dev/pts; do mountpoint -q "$rootfs/$m" && umount "$rootfs/$m"; done
  rm -rf "$rootfs"
}
trap cleanup EXIT

echo "== debootstrap $SUITE (minbase) into $rootfs"
debootstrap --variant=minbase "$SUITE" "$rootfs" "$MIRROR" >/dev/null
echo "== Debian packages: $PACKAGES"
printf '#!/bin/sh\nexit 101\n' > "$rootfs/usr/sbin/policy-rc.d"   # install services, never start them
chmod +x "$rootfs/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
mount -t proc proc "$rootfs/proc"
chroot "$rootfs" sh -c "apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $PACKAGES >/dev/null && apt-get clean"
umount "$rootfs/proc"
rm -f "$rootfs/usr/sbin/policy-rc.d" "$rootfs/etc/resolv.conf"
rm -rf "$rootfs/var/lib/apt/lists"/*

echo "== docker import $IMAGE"
tar -C "$rootfs" -c . | docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'LABEL dev.aftershock.image=node' - "$IMAGE" >/dev/null
echo "$IMAGE built ($(docker image inspect -f '{{.Size}}' "$IMAGE" | awk '{printf "%.0f MB", $1/1e6}'))"
build_compose_images
