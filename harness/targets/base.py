"""What every broker target offers the orchestrator, faults and load."""

from __future__ import annotations

import logging
import re
import unicodedata
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from harness.errors import ScenarioError
from harness.runtimes.base import NodeProcess, ProcessSpec, Runtime
from harness.scenario.model import ConsumerSpec

log = logging.getLogger("aftershock")


class Target(Protocol):
    """A broker cluster: brought up and torn down as a context manager."""

    kind: str
    nodes: dict[int, NodeProcess]

    def __enter__(self) -> "Target": ...
    def __exit__(self, *exc: object) -> None: ...
    def leader_of(self, *args: str) -> int: ...
    def controller(self) -> int: ...
    def load_config(self) -> dict[str, Any]: ...
    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: ConsumerSpec) -> ProcessSpec: ...
    def versions(self) -> dict[str, str]: ...
    def assignable_partitions(self) -> int | None:
        """How many partitions the consumer group must have assigned among its instances before the
        load starts; None when the broker assigns nothing (queues)."""
        ...
    def backlog(self) -> int | None:
        """Messages the broker holds that its consumers have not acknowledged; None: cannot tell."""
        ...
    def positions(self) -> list[dict[str, Any]]:
        """Per partition of a log-based broker: topic, partition, committed, end (empty for queues)."""
        ...


TargetFactory = Callable[[Any, Runtime, Path], Target]
TARGETS: dict[str, TargetFactory] = {}


def register_target(kind: str) -> Callable[[TargetFactory], TargetFactory]:
    def add(factory: TargetFactory) -> TargetFactory:
        TARGETS[kind] = factory
        return factory

    return add


_SETTING_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def refuse_unsafe_settings(kind: str, settings: Mapping[str, Any]) -> None:
    """Defense in depth under validation: a broker_config key or value that could add a line (or a
    key) to a rendered config file is refused here too, whatever path the settings came by."""
    for key, value in settings.items():
        if not isinstance(key, str) or not _SETTING_KEY.fullmatch(key):
            raise ScenarioError(f"{kind} broker_config key {key!r}: only letters, digits, '.', '_' and '-' may"
                                " appear in a setting's name: fix the key")
        text = str(value)
        if any(unicodedata.category(c) in ("Cc", "Zl", "Zp") for c in text):
            raise ScenarioError(f"{kind} broker_config {key}: the value contains a newline or control character,"
                                " which would add lines to the broker's config file: remove it")


def harness_last(defaults: Mapping[str, Any], user: Mapping[str, Any], owned: Mapping[str, Any],
                 kind: str) -> dict[str, Any]:
    """The settings a node runs with: the harness's defaults, the scenario's broker_config over them,
    and the settings the harness owns (listeners, addresses, identities, paths) over both."""
    refuse_unsafe_settings(kind, user)
    for key in sorted(set(user) & set(owned)):
        log.warning("%s broker_config %s ignored: the harness owns it", kind, key)
    settings = {**defaults, **user, **owned}
    refuse_unsafe_settings(kind, settings)
    return settings
