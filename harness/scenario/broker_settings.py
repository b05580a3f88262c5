"""What `broker_config` (and `matrix`) may say: keys of a sane shape, values that stay on one line,
and never a setting the harness owns (the topology it builds: listeners, addresses, ids, roles,
data and log directories). The harness writes its own settings first and the scenario's after,
so an owned key set here would silently replace the harness's: it is refused instead.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from harness.scenario.located import LocatedValueError

KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")

_LISTENERS = ("the harness binds every listener to the run's own addresses and ports (loopback or the run's"
              " namespaces) and points clients, proxies and faults at them")
_IDENTITY = "the harness numbers the nodes and runs each as a KRaft broker and controller; selectors address them so"
_DATA = "the harness keeps each node's data and logs in the run directory, removed with the run"

# key or prefix (ending in '.') -> why the harness owns it
KAFKA_OWNED: dict[str, str] = {
    "listeners": _LISTENERS,
    "advertised.listeners": _LISTENERS,
    "listener.security.protocol.map": _LISTENERS,
    "inter.broker.listener.name": _LISTENERS,
    "security.inter.broker.protocol": _LISTENERS,
    "controller.listener.names": _LISTENERS,
    "controller.quorum.voters": _LISTENERS,
    "controller.quorum.bootstrap.servers": _LISTENERS,
    "listener.name.": _LISTENERS,
    "advertised.host.name": _LISTENERS,
    "advertised.port": _LISTENERS,
    "host.name": _LISTENERS,
    "port": _LISTENERS,
    "node.id": _IDENTITY,
    "broker.id": _IDENTITY,
    "process.roles": _IDENTITY,
    "zookeeper.": "the harness runs Kafka in KRaft mode, without ZooKeeper",
    "log.dirs": _DATA,
    "log.dir": _DATA,
    "metadata.log.dir": _DATA,
}
RABBITMQ_OWNED: dict[str, str] = {
    "listeners.": _LISTENERS,
    "distribution.": "the harness gives each node its own distribution port and epmd, on the run's addresses",
    "cluster_formation.": "the harness joins the nodes into one cluster itself",
    "loopback_users": "the harness lets its clients in as guest only on the run's own addresses",
    "loopback_users.": "the harness lets its clients in as guest only on the run's own addresses",
    "management.": _LISTENERS,
    "prometheus.": _LISTENERS,
    "mqtt.": _LISTENERS,
    "stomp.": _LISTENERS,
    "web_mqtt.": _LISTENERS,
    "web_stomp.": _LISTENERS,
    "ssl_options.": "the harness's listeners are plain TCP on the run's addresses; certificate files are paths"
                    " outside the run",
    "log.dir": _DATA,
    "log.file": _DATA,
    "log.file.": _DATA,
    "log.console": "the harness reads each node's log from its console output",
}
OWNED = {"kafka": KAFKA_OWNED, "rabbitmq": RABBITMQ_OWNED}


def owner_reason(kind: str, key: str) -> str | None:
    """Why the harness owns `key` on a `kind` broker, or None if a scenario may set it."""
    for owned, reason in OWNED[kind].items():
        if key == owned or (owned.endswith(".") and key.startswith(owned)):
            return reason
    return None


def check_setting(key: object, value: object, where: tuple[str | int, ...]) -> None:
    """A key of letters, digits, '.', '_' and '-'; a value that is a single line of text."""
    if not isinstance(key, str) or not KEY_PATTERN.match(key):
        raise LocatedValueError(f"{str(key)!r} is not a setting name: use letters, digits, '.', '_' and '-'"
                                " (starting with a letter or digit, at most 200 characters)", where)
    if isinstance(value, str):
        bad = _CONTROL.search(value)
        if bad:
            raise LocatedValueError(f"the value holds character U+{ord(bad.group()):04X} (a control character):"
                                    " a setting is written as one line of the broker's file; remove it", where)
        if value.endswith("\\"):
            raise LocatedValueError("the value ends in a backslash, which would continue it onto the next line"
                                    " of the broker's file: remove it", where)


def check_broker_config(kind: str, config: Mapping[str, object]) -> None:
    for key, value in config.items():
        where = ("broker_config", key)
        check_setting(key, value, where)
        reason = owner_reason(kind, key)
        if reason is not None:
            raise LocatedValueError(f"{key} is set by the harness, not by a scenario: {reason}; remove it", where)
