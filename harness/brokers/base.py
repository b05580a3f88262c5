"""What a broker brings to the harness: one `Broker` record, registered by the `kind` users write in
`target:`, and the `Cluster` it brings up, which the orchestrator, faults and load use."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from harness.brokers.routes import ClientRoutes
from harness.errors import ScenarioError
from harness.runtimes.base import NodeProcess, ProcessSpec
from harness.scenario.sections import ConsumerSpec, ProducerSpec
from harness.scenario.selectors import Selector

if TYPE_CHECKING:
    from harness.faults.base import Silence
    from harness.observer import View

log = logging.getLogger("aftershock")


class Cluster(Protocol):
    """A broker cluster: brought up and torn down as a context manager."""

    kind: str
    nodes: dict[int, NodeProcess]   # every node process, by node number
    brokers: list[int]              # the nodes clients connect to (not a dedicated controller)
    routes: ClientRoutes

    def __enter__(self) -> Cluster: ...
    def __exit__(self, *exc: object) -> None: ...
    def leader_of(self, *args: str) -> int: ...
    def controller(self) -> int: ...
    def load_config(self) -> dict[str, Any]: ...
    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: ConsumerSpec) -> ProcessSpec: ...
    def add_destination(self, name: str) -> None:
        """The dead-letter topic or queue, and whatever routes the main one's rejects into it."""
        ...
    def add_drop_record(self, consumer: ConsumerSpec) -> str | None:
        """Where the broker puts what it discards by a configured limit, for the harness to read
        (a queue name, read like a dead-letter queue); None: it discards nothing so, or says so itself."""
        ...
    def dead_letter_reader_spec(self, name: str, ledger: Path, log_path: Path) -> ProcessSpec: ...
    def versions(self) -> dict[str, str]: ...
    def settings(self) -> dict[str, Any]:
        """The scenario's broker settings as the cluster reported them once ready, by level and node
        ({} where the broker reports none back)."""
        ...
    def group_protocol(self, group: str) -> str | None:
        """The protocol the consumer group runs, as the broker says once its members have joined
        (Kafka: classic or consumer); None where the broker has no groups (queues)."""
        ...
    def groups(self) -> dict[str, Any]:
        """Each consumer group the harness reads with, as its coordinator sees it (members, what each
        owns and is meant to own): recorded when the drain ends ({} where the broker has no groups)."""
        ...
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
    def replicas(self) -> dict[str, Any]:
        """Where each topic's or queue's replicas stand now, as the broker says (leaders, in-sync and
        eligible replicas): recorded when the drain ends, so a verdict can be read against it."""
        ...
    def observation(self) -> AbstractContextManager[View] | None:
        """The cluster's own view for the observer (harness.observer), opened on its own connections
        and closed with it; None where the broker has none yet (the run then cannot tell whether a
        fault bit: `faults_without_effect` is unknown, never 0)."""
        ...


class Scenario(Protocol):
    """What a broker's rules read of the scenario (harness.scenario.model.Scenario has it all)."""

    @property
    def target(self) -> Any: ...        # this broker's own spec
    @property
    def runtime(self) -> str: ...
    @property
    def producer(self) -> ProducerSpec: ...
    @property
    def consumer(self) -> ConsumerSpec: ...


@dataclass(frozen=True)
class Detector:
    """What must notice a silent member before a fault on it can bite: how long it takes, the setting
    that says so (as the scenario would write it) and what waits for it."""

    seconds: float
    setting: str
    waits: str
    outlives_heal: bool = False   # fires even when the fault heals first (a restarted node cannot
                                  # take its old place until its old session expires)


class ScenarioRules(Protocol):
    """The checks of a scenario that only its broker can make (a broker's spec module is one)."""

    def check_consumer(self, scenario: Scenario) -> None: ...
    def check_form(self, scenario: Scenario, form: str) -> None: ...   # rules of the node form the runtime runs
    def check_clients(self, scenario: Scenario) -> None: ...
    def check_leader(self, scenario: Scenario, sel: Selector, where: tuple[str | int, ...]) -> None: ...
    def detectors(self, scenario: Scenario, silence: Silence) -> list[Detector]:
        """The failure detectors that must fire on `silence` before its effect shows, each with its
        time under this scenario's settings (validation warns of a fault healed sooner)."""
        ...


ClusterFactory = Callable[..., Cluster]   # (spec, runtime, run_dir, groups, via) -> Cluster (routes.Via)
# A broker brings one cluster class per node form it supports: "process" (a command line on this host),
# "image" (its image's contract, for the Docker runtime), "published" (binds to a running cluster:
# compose). The runtime picks the form; a runtime whose form the broker lacks is refused at validation.


@dataclass(frozen=True)
class Broker:
    """Everything the generic harness needs to know of one broker, in one place."""

    kind: str                          # what `target: {kind: ...}` says
    spec: type[BaseModel]              # the `target:` model, its `kind` a Literal of this kind
    rules: ScenarioRules
    clusters: Mapping[str, ClusterFactory]   # node form (runtimes.base.NODE_FORMS) -> the cluster of that form
    users: Mapping[str, str]           # producer client -> "module:Class" of its Locust user; first: default
    image: Callable[..., str]          # the official image the Docker runtime runs for this kind; given a
                                       # release (a node whose contract names one), the image at that release
    sample: Callable[[int], Any]       # a small valid spec of N nodes (benchmarks)
    has_controller: bool = False       # `controller` names a node (Kafka's KRaft controller)
    # every node the spec's cluster runs (Kafka: its brokers and dedicated controllers); default `nodes`
    processes: Callable[[Any], int] = lambda spec: int(spec.nodes)
    # node form -> what that form needs on this host before its cluster is built, fetched into the
    # cache now (the release a spec names): (spec, say) where say shows progress. None: nothing.
    provide: Mapping[str, Callable[[Any, Callable[[str], None]], None]] = field(default_factory=dict)
    # What validation needs of the release a spec names to check its settings against that release's
    # own definitions (Kafka: the ConfigDefs in its jars), made available now: (spec, say, fetch) ->
    # True when they became available just now (validate again, to check against them). fetch: may
    # resolve the release first (a run) or only use what is installed (`aftershock validate`).
    definitions: Callable[[Any, Callable[[str], None], bool], bool] | None = None
    # A second opinion from the broker itself, once its nodes have stopped: (spec, run_dir, the
    # acknowledged ids when asked) -> {"lost", "log_duplicates", "lost_ids"} counted from its own final
    # logs, or None when the spec does not ask for one (Kafka: replica_log_check, DumpLogSegments).
    recount: Callable[[Any, Path, Callable[[], set[int]]], dict[str, Any] | None] | None = None
    # The first bytes of the broker's protocol, which its listener answers at once (Kafka: an
    # ApiVersions request; AMQP: the protocol header): a link fault times a round trip through its
    # proxy with them. Empty: link faults are not measured.
    greeting: bytes = b""


BROKERS: dict[str, Broker] = {}


def register_broker(broker: Broker) -> Broker:
    if broker.kind in BROKERS:
        raise ValueError(f"two brokers registered as {broker.kind!r}")
    BROKERS[broker.kind] = broker
    return broker


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
