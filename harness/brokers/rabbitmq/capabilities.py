"""What each RabbitMQ release itself says it knows: the queue arguments each queue type takes and
the policy keys it ignores, the policy keys it validates, the apply-to values it accepts. Read from
running nodes of every release (`probe`, run by scripts/rabbitmq-capabilities) into
capabilities.json, which scenarios are checked against without starting a broker; an integration
test probes the releases again and compares, so a drift fails the suite instead of a user's run.

RabbitMQ itself ignores an x-argument it does not know (a misspelt `x-max-lenght` declares a queue
without a limit) and a policy key no queue of that type honours: checked here, those are errors.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any, Protocol

CAPABILITIES_FILE = Path(__file__).with_name("capabilities.json")
QUEUE_TYPES = ("classic", "quorum", "stream")
APPLY_TO = ("queues", "exchanges", "all", "classic_queues", "quorum_queues", "streams")

# Evaluated on a node: its queue types' own capabilities and its registered policy validators, as JSON.
_PROBE = (
    'Types = [{<<"classic">>, rabbit_classic_queue}, {<<"quorum">>, rabbit_quorum_queue},'
    ' {<<"stream">>, rabbit_stream_queue}],'
    'Caps = maps:from_list([{T, maps:with([queue_arguments, unsupported_policies], M:capabilities())}'
    ' || {T, M} <- Types]),'
    'Keys = lists:sort([atom_to_binary(N, utf8) || {N, _} <- rabbit_registry:lookup_all(policy_validator)]),'
    'io:format("~s~n", [rabbit_json:encode(#{types => Caps, policy_keys => Keys})]).'
)


class Ctl(Protocol):
    def ctl(self, i: int, *args: str, check: bool = True, timeout: float = ...) -> Any: ...


@dataclass(frozen=True)
class Capabilities:
    """One release's own lists (see the module's docstring)."""

    queue_arguments: dict[str, tuple[str, ...]]       # queue type -> x-arguments it takes
    unsupported_policies: dict[str, tuple[str, ...]]  # queue type -> policy keys it ignores
    policy_keys: tuple[str, ...]
    apply_to: tuple[str, ...]


def probe(cluster: Ctl) -> dict[str, Any]:
    """The release's lists, as node 1 of a running cluster reports them (capabilities.json's shape)."""
    out = cluster.ctl(1, "eval", _PROBE).stdout
    found = json.loads(next(line for line in out.splitlines() if line.startswith("{")))
    accepted = []
    for apply_to in APPLY_TO:   # the release's own validation of --apply-to, on a policy matching nothing
        done = cluster.ctl(1, "set_policy", "--apply-to", apply_to, "aftershock-probe", "^aftershock-probe-none$",
                           json.dumps({"expires": 86_400_000}), check=False)
        if done.returncode == 0:
            accepted.append(apply_to)
    cluster.ctl(1, "clear_policy", "aftershock-probe", check=False)
    types = found["types"]
    return {"queue_arguments": {t: sorted(types[t]["queue_arguments"]) for t in QUEUE_TYPES},
            "unsupported_policies": {t: sorted(types[t]["unsupported_policies"]) for t in QUEUE_TYPES},
            "policy_keys": sorted(found["policy_keys"]), "apply_to": accepted}


@cache
def _table() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(CAPABILITIES_FILE.read_text())
    return data


def capabilities(series: str) -> Capabilities:
    entry = _table()[series]
    return Capabilities(
        queue_arguments={t: tuple(v) for t, v in entry["queue_arguments"].items()},
        unsupported_policies={t: tuple(v) for t, v in entry["unsupported_policies"].items()},
        policy_keys=tuple(entry["policy_keys"]), apply_to=tuple(entry["apply_to"]))
