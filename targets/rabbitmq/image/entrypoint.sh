#!/bin/sh
# The shared Erlang cookie from RABBITMQ_ERLANG_COOKIE, where rabbitmq-server and rabbitmqctl
# (run with `docker exec`, as the same user) both read it.
set -eu
if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
  cookie="$HOME/.erlang.cookie"
  rm -f "$cookie"
  printf '%s' "$RABBITMQ_ERLANG_COOKIE" > "$cookie"
  chmod 400 "$cookie"
fi
exec "$@"
