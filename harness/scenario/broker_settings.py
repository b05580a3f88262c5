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

LISTENERS = ("the harness binds every listener to the run's own addresses and ports (loopback or the run's"
              " namespaces) and points clients, proxies and faults at them")
IDENTITY = "the harness numbers the nodes and runs each as a KRaft broker and controller; selectors address them so"
DATA = "the harness keeps each node's data and logs in the run directory, removed with the run"



def owner_reason(owned_settings: Mapping[str, str], key: str) -> str | None:
    """Why the harness owns `key` (a broker's `owned_settings`: key or prefix ending in '.' -> why),
    or None if a scenario may set it."""
    for owned, reason in owned_settings.items():
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


def check_broker_config(owned_settings: Mapping[str, str], config: Mapping[str, object]) -> None:
    for key, value in config.items():
        where = ("broker_config", key)
        check_setting(key, value, where)
        reason = owner_reason(owned_settings, key)
        if reason is not None:
            raise LocatedValueError(f"{key} is set by the harness, not by a scenario: {reason}; remove it", where)
