#!/usr/bin/env bash
# Builds the image the Docker runtime runs its nodes in when AFTERSHOCK_IMAGES=local, without any
# image registry: a Debian base made by debootstrap from Debian's package mirror (a package
# registry), with a JRE and rabbitmq-server from Debian's packages, imported with `docker import`.
# The Kafka jars, the Toxiproxy binary and each run's files are mounted at run time from the cache
# and the run directory, so one image serves every node. Idempotent: skips an image already built.
# Usage: scripts/build-images.sh   (DOCKER_HOST selects the engine)
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${AFTERSHOCK_CACHE:-$HOME/.cache/aftershock}
MIRROR=${AFTERSHOCK_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
IMAGE=$(sed -n 's/^LOCAL_IMAGE = "\(.*\)"/\1/p' harness/runtimes/docker.py)
PACKAGES="openjdk-17-jre-headless rabbitmq-server procps iproute2 ca-certificates"

command -v docker >/dev/null || { echo "error: docker client not found: run make install-docker" >&2; exit 2; }
docker info >/dev/null 2>&1 || { echo "error: no Docker engine at ${DOCKER_HOST:-the default socket}" >&2; exit 2; }
if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "$IMAGE already built"; exit 0
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
