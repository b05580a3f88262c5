"""A RabbitMQ node's rabbitmq.conf and Erlang terms: the harness's defaults, the scenario's settings
over them, and the listeners the harness owns over both."""

from __future__ import annotations

from typing import Any

from harness.brokers.base import refuse_unsafe_settings

# Listener settings no scenario may add: the harness places every listener (see node_conf).
OWNED_PREFIXES = ("listeners.", "management.tcp.", "management.ssl.", "prometheus.tcp.", "prometheus.ssl.",
                  "web_stomp.", "web_mqtt.", "stomp.listeners.", "mqtt.listeners.", "distribution.listener.")
DEFAULTS: dict[str, Any] = {"cluster_partition_handling": "pause_minority", "log.console.level": "info"}


def render_conf(settings: dict[str, Any]) -> str:
    """rabbitmq.conf (sysctl format): `key = value` lines, booleans lower-case."""
    def fmt(value: Any) -> str:
        return ("true" if value else "false") if isinstance(value, bool) else str(value)

    refuse_unsafe_settings("rabbitmq", settings)

    return "".join(f"{key} = {fmt(value)}\n" for key, value in settings.items())


def erlang_ip(address: str) -> str:
    """An IPv4 address as an Erlang tuple term, as kernel's inet_dist_use_interface wants it."""
    return "{" + ",".join(str(int(part)) for part in address.split(".")) + "}"


def cli_domain(i: int, tag: str) -> str:
    """The DNS domain rabbitmqctl beside namespaced node i names itself in (see `render_inetrc`)."""
    return f"n{i}.{tag}"


def render_inetrc(i: int, tag: str, host: str, addresses: dict[int, str]) -> str:
    """Erlang's resolver configuration beside namespaced node i (ERL_INETRC).

    rabbitmqctl names itself `rabbitmqcli-...@<short hostname>.<domain>`, and for list_queues every
    node sends its rows to it directly: under one hostname shared by every namespace, no other node
    could resolve or reach it, and each list_queues waited out its timeout (6 s, rows missing). Here
    each namespace has its own domain, and every node resolves each CLI host to its namespace's address.
    """
    lines = [f'{{domain, "{cli_domain(i, tag)}"}}.']
    lines += [f'{{host, {erlang_ip(address)}, ["{host}.{cli_domain(j, tag)}"]}}.' for j, address in addresses.items()]
    lines.append("{lookup, [file, native]}.")
    return "\n".join(lines) + "\n"


def node_of_pid(pid: str) -> str:
    """A classic queue's home node from its process id as rabbitmqctl prints it (`<rabbit@host.1.2.3>`).
    With long names the host is an address with dots of its own, so cut the three numbers off the end."""
    return pid.strip("<>").rsplit(".", 3)[0] if pid else ""
