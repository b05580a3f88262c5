#!/usr/bin/env bash
# Installs what Aftershock needs, idempotently: Python packages (into .venv), the Kafka broker
# jars (Maven Central, via the pom in targets/kafka) into a cache outside the repo.
# Later steps skip what is already there. Usage: scripts/install.sh [--test]
set -euo pipefail
cd "$(dirname "$0")/.."
CACHE=${AFTERSHOCK_CACHE:-$HOME/.cache/aftershock}
PY=${PYTHON:-python3}
mkdir -p "$CACHE"

step() { printf '\n== %s\n' "$*"; }

step "Debian packages (rabbitmq-server, iptables, iproute2; chromium for the tests)"
need=()
[ -x /usr/lib/rabbitmq/bin/rabbitmq-server ] || need+=(rabbitmq-server)
command -v iptables-restore >/dev/null || need+=(iptables)
command -v ip >/dev/null || need+=(iproute2)
# The tests open the HTML report in headless Chromium, and run nodes on Debian's Docker engine
# (images built offline with debootstrap).
if [ "${1:-}" = "--test" ]; then
  command -v chromium >/dev/null || need+=(chromium)
  command -v dockerd >/dev/null || need+=(docker.io)
  command -v docker-compose >/dev/null || need+=(docker-compose)
  command -v debootstrap >/dev/null || need+=(debootstrap)
fi
if [ ${#need[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "error: ${need[*]} missing; install them as root (apt-get install ${need[*]})" >&2; exit 2
  fi
  # The package would start a system-wide broker; the harness runs its own nodes, so keep it off.
  policy=/usr/sbin/policy-rc.d; created=0
  if [ ! -e "$policy" ]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created=1; fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  [ "$created" = 1 ] && rm -f "$policy"
  echo "installed ${need[*]}"
else
  echo "up to date"
fi

step "Java and Maven"
for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found: install a JDK 17+ and Maven" >&2; exit 2; }
done

step "Python environment (.venv)"
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
stamp=".venv/.installed$extras"
if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -e ".$extras"
  touch "$stamp"
else
  echo "up to date"
fi

step "Kafka broker jars (Maven Central)"
# The default release (targets/kafka/pom.xml); `aftershock install kafka=VERSION` adds others.
.venv/bin/python -c 'from harness.brokers.kafka.dist import main; main()'

step "Kafka class-data archive (faster broker start-up)"
.venv/bin/python -c 'from harness.brokers.kafka.cds import main; main()'

step "Toxiproxy server (built from source with Go)"
toxi_version=$(sed -n 's/^TOXIPROXY_VERSION = "\(.*\)"/\1/p' harness/services/toxiproxy.py)
toxi="$CACHE/bin/toxiproxy-server-$toxi_version"
# Built with its version stamped in, as Toxiproxy's own releases are (a plain `go install` reports "git").
if [ -x "$toxi" ] && "$toxi" -version 2>&1 | grep -q "version $toxi_version\$"; then
  echo "toxiproxy $toxi_version already at $toxi"
else
  command -v go >/dev/null || { echo "error: go not found: install Go to build Toxiproxy" >&2; exit 2; }
  mkdir -p "$CACHE/bin" "$CACHE/go-build"
  GOBIN="$CACHE/go-build" GOFLAGS=-modcacherw go install \
    -ldflags "-X github.com/Shopify/toxiproxy/v2.Version=$toxi_version" \
    "github.com/Shopify/toxiproxy/v2/cmd/server@v$toxi_version"
  mv "$CACHE/go-build/server" "$toxi"
  echo "toxiproxy $toxi_version built into $toxi"
fi
