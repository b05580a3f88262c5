"""What a scenario says of a RabbitMQ cluster (`target: {kind: rabbitmq}`), and the rules it must
keep: its own fields here, and the checks of the rest of the scenario that only RabbitMQ needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from harness.brokers.base import Detector, Scenario
from harness.brokers.rabbitmq.capabilities import capabilities
from harness.brokers.rabbitmq.dist import DEFAULT_RELEASE, RELEASES, Release, removed_setting
from harness.brokers.rabbitmq.limits import delivery_limit
from harness.brokers.rabbitmq.queue_settings import PolicyRule, check_arguments, check_dead_lettering, check_policy
from harness.scenario.broker_settings import DATA, LISTENERS, check_broker_config
from harness.scenario.durations import Duration
from harness.scenario.located import LocatedValueError
from harness.scenario.numbers import Whole
from harness.scenario.sections import DEFAULT_KAFKA_CLIENT
from harness.scenario.selectors import Selector
from harness.scenario.strict import NAME, Scalar, Strict

if TYPE_CHECKING:
    from harness.faults.base import Silence

PARTITION_HANDLING = ("ignore", "pause_minority", "autoheal")

# key or prefix (ending in '.') -> why the harness owns it
RABBITMQ_OWNED: dict[str, str] = {
    "listeners.": LISTENERS,
    "distribution.": "the harness gives each node its own distribution port and epmd, on the run's addresses",
    "cluster_formation.": "the harness joins the nodes into one cluster itself",
    "loopback_users": "the harness lets its clients in as guest only on the run's own addresses",
    "loopback_users.": "the harness lets its clients in as guest only on the run's own addresses",
    "management.": LISTENERS,
    "prometheus.": LISTENERS,
    "mqtt.": LISTENERS,
    "stomp.": LISTENERS,
    "web_mqtt.": LISTENERS,
    "web_stomp.": LISTENERS,
    "ssl_options.": "the harness's listeners are plain TCP on the run's addresses; certificate files are paths"
                    " outside the run",
    "log.dir": DATA,
    "log.file": DATA,
    "log.file.": DATA,
    "log.console": "the harness reads each node's log from its console output",
}


def rabbitmq_queue_name(value: str) -> str:
    if value.startswith("amq."):
        raise ValueError(f"{value!r} starts with 'amq.', which RabbitMQ keeps for its own queues: choose another name")
    return value


class QueueSpec(Strict):
    name: str = Field("orders", pattern=NAME)
    type: Literal["classic", "quorum", "stream"] = "quorum"
    durable: bool = True
    arguments: dict[str, Scalar] = Field(
        default_factory=dict, description="x-arguments the queue is declared with (x-max-length, x-overflow,"
                                          " x-delivery-limit...), checked against what the release takes for its type")

    @field_validator("name")
    @classmethod
    def _not_the_brokers(cls, value: str) -> str:
        return rabbitmq_queue_name(value)

    @model_validator(mode="after")
    def _replicated_types_are_durable(self) -> QueueSpec:
        if self.type != "classic" and not self.durable:
            raise LocatedValueError(f"{self.type} queues are always durable: remove durable: false", ("durable",))
        return self


class PolicySpec(Strict):
    """A policy set with rabbitmqctl before the load starts (RabbitMQ applies the one of highest priority)."""

    name: str = Field(pattern=NAME)
    pattern: str = Field(min_length=1, description="a regular expression matched against queue names")
    definition: dict[str, Scalar | list[str]] = Field(min_length=1, description="policy keys, e.g. max-length")
    apply_to: str = Field("queues", description="queues, exchanges or all (4.0: also classic_queues,"
                                                 " quorum_queues, streams)")
    priority: Whole = Field(0, ge=0, le=9999)

    @property
    def rule(self) -> PolicyRule:
        return PolicyRule(self.name, self.pattern, self.apply_to, self.priority, self.definition)


class RabbitSpec(Strict):
    kind: Literal["rabbitmq"]
    nodes: Whole = Field(3, ge=1, le=7)
    queue: QueueSpec = QueueSpec()
    broker_config: dict[str, Scalar] = Field(
        default_factory=dict, description="rabbitmq.conf keys, e.g. cluster_partition_handling")
    net_ticktime: Whole = Field(10, ge=1, le=120, description="seconds; how fast nodes notice a lost peer")
    dead_letter_confirm_timeout: Duration | None = Field(
        None, description="how long a quorum queue's at-least-once dead-letter worker waits for the"
                          " dead-letter queue to confirm before sending again (broker default 180 s)")
    version: str = Field(DEFAULT_RELEASE, description="the RabbitMQ release series: 3.10 (Debian 12, the"
                         " host's), 4.0 (Debian 13) or 4.3 (Debian testing), the last two from a root"
                         " filesystem built on first use")
    policies: list[PolicySpec] = Field(default_factory=list, description="policies set before the load starts")
    metadata_store: Literal["mnesia", "khepri"] | None = Field(
        None, description="where the nodes keep users, queues and bindings: mnesia or khepri (Raft);"
                          " default: the release's (Mnesia before 4.3; 4.0 offers both; 4.3 only Khepri)")

    @field_validator("version", mode="before")
    @classmethod
    def _a_release(cls, value: object) -> object:
        known = ", ".join(f"{r.series} ({r.debian})" for r in RELEASES.values())
        if isinstance(value, int | float) and not isinstance(value, bool):   # 3.10 would read as 3.1
            raise ValueError(f"RabbitMQ version {value}: YAML reads it as a number; quote the series,"
                             f" e.g. version: '4.0' (Aftershock runs {known})")
        if isinstance(value, str) and value not in RELEASES:
            raise ValueError(f"RabbitMQ version {value}: Aftershock runs {known}")
        return value

    @property
    def release(self) -> Release:
        return RELEASES[self.version]

    @property
    def store(self) -> str:
        """The metadata store the nodes run with: the scenario's, or the release's default."""
        return self.metadata_store or self.release.stores[0]

    @model_validator(mode="after")
    def _fits_the_release(self) -> RabbitSpec:
        """What the release no longer does, or not yet, is refused for it, saying what replaced it."""
        release = self.release
        if self.metadata_store is not None and self.metadata_store not in release.stores:
            offered = " and ".join(r.series for r in RELEASES.values() if self.metadata_store in r.stores)
            raise LocatedValueError(
                f"RabbitMQ {release.series} keeps its metadata in {' or '.join(release.stores)} only:"
                f" {self.metadata_store} is offered by {offered}; set version, or remove metadata_store",
                ("metadata_store",))
        for key in self.broker_config:
            why = removed_setting(release, key)
            if why is not None:
                raise LocatedValueError(f"{key} on RabbitMQ {release.series}: {why}", ("broker_config", key))
        if not release.transient_queues and self.queue.type == "classic" and not self.queue.durable:
            raise LocatedValueError(
                f"RabbitMQ {release.series} refuses non-durable queues by default (the deprecated feature"
                " transient_nonexcl_queues is off from 4.3): make the queue durable (remove durable: false)"
                " or use an older version", ("queue", "durable"))
        caps = capabilities(release.series)
        check_arguments(caps, release.series, self.queue.type, self.queue.arguments, self.nodes,
                        ("queue", "arguments"))
        names = [policy.name for policy in self.policies]
        for i, policy in enumerate(self.policies):
            if names.index(policy.name) != i:
                raise LocatedValueError(f"a second policy named {policy.name}: name each once", ("policies", i, "name"))
            check_policy(caps, release.series, policy.rule, {self.queue.name: self.queue.type}, ("policies", i))
        return self

    @model_validator(mode="after")
    def _settings_fit(self) -> RabbitSpec:
        check_broker_config(RABBITMQ_OWNED, self.broker_config)
        mode = self.broker_config.get("cluster_partition_handling")
        if mode is not None and mode not in PARTITION_HANDLING:
            raise LocatedValueError(f"cluster_partition_handling {mode!r}: use ignore, pause_minority or autoheal",
                                    ("broker_config", "cluster_partition_handling"))
        return self


def check_consumer(scenario: Scenario) -> None:
    """Streams need manual acks; dead-lettering goes into a queue of its own, by rejecting."""
    spec = _spec(scenario)
    if spec.queue.type == "stream" and scenario.consumer.ack == "auto":
        raise LocatedValueError("stream queues need manual acks: set consumer.ack: manual", ("consumer", "ack"))
    if scenario.consumer.requeue:
        _check_requeue(scenario)
    dead_letter = scenario.consumer.dead_letter
    if dead_letter is None:
        return
    where = ("consumer", "dead_letter")
    if dead_letter.topic is not None:
        raise LocatedValueError("RabbitMQ dead-letters into a queue: write dead_letter: {queue: NAME}", where)
    if dead_letter.queue == spec.queue.name:
        raise LocatedValueError("the dead-letter queue must differ from the main queue", where)
    if spec.queue.type == "stream":
        raise LocatedValueError("streams cannot dead-letter (no reject): use a quorum or classic queue", where)
    if scenario.consumer.ack == "auto":
        raise LocatedValueError("dead-lettering rejects messages, which auto-ack cannot: set consumer.ack: manual",
                                where)
    rules = [policy.rule for policy in spec.policies]
    check_dead_lettering(spec.queue.name, spec.queue.type, spec.queue.arguments, rules, ("target",))
    caps = capabilities(spec.release.series)
    for i, policy in enumerate(spec.policies):   # the dead-letter queue is a quorum queue of the harness's
        if policy.name == dead_letter_policy(dead_letter.queue or ""):
            raise LocatedValueError(f"policy {policy.name}: the harness names its dead-lettering policy so;"
                                    " choose another name", ("target", "policies", i, "name"))
        check_policy(caps, spec.release.series, policy.rule, {dead_letter.queue or "": "quorum"},
                     ("target", "policies", i))


def _check_requeue(scenario: Scenario) -> None:
    """Requeueing what no consumer can process loops until something stops it: only a quorum queue
    counts deliveries, and only a delivery limit (3.10: set one; 4.0+: 20 unless set) ends the loop."""
    spec, where = _spec(scenario), ("consumer", "requeue")
    if scenario.consumer.ack == "auto":
        raise LocatedValueError("requeue nacks a delivery back into the queue, which auto-ack cannot: set"
                                " consumer.ack: manual", where)
    if spec.queue.type != "quorum":
        raise LocatedValueError(f"requeue on a {spec.queue.type} queue would redeliver a message no consumer can"
                                " process forever: only quorum queues count deliveries and stop at a delivery"
                                " limit; use queue.type: quorum", where)
    if delivery_limit(spec) is None:
        raise LocatedValueError(f"requeue on RabbitMQ {spec.version} without a delivery limit would redeliver a"
                                " message no consumer can process forever: set queue.arguments x-delivery-limit"
                                " (or a policy's delivery-limit)", where)


DEAD_LETTERING_SUFFIX = "-dead-lettering"


def dead_letter_policy(queue: str) -> str:
    """The name of the policy that routes the main queue's rejects into dead-letter queue `queue`."""
    return f"{queue}{DEAD_LETTERING_SUFFIX}"


def check_form(scenario: Scenario, form: str) -> None:
    """What the node form the runtime runs (runtimes.base.NODE_FORMS) allows of the spec."""
    if form in FORM_RULES:
        FORM_RULES[form](scenario)


def _default_release_only(scenario: Scenario) -> None:
    """A compose project runs the release its own file names."""
    spec = _spec(scenario)
    if spec.version != DEFAULT_RELEASE:
        raise LocatedValueError(f"version {spec.version}: on runtime: {scenario.runtime} the nodes run the image's"
                                f" release ({DEFAULT_RELEASE}) only, so far: remove version, or run it on"
                                " runtime: local", ("target", "version"))


def _compose_rules(scenario: Scenario) -> None:
    """A compose-managed RabbitMQ takes its settings from its own config file."""
    _default_release_only(scenario)
    spec = _spec(scenario)
    defaults = RabbitSpec.model_fields
    settable = {name for name in ("net_ticktime", "dead_letter_confirm_timeout")
                if getattr(spec, name) != defaults[name].default}
    fixed = sorted(set(spec.broker_config) - {"cluster_partition_handling"})
    if settable or fixed:
        raise LocatedValueError(
            f"{', '.join(sorted(settable) + fixed)}: a compose-managed RabbitMQ takes its settings from"
            " targets/rabbitmq/compose.conf; remove them here (cluster_partition_handling may stay:"
            " the run checks the cluster has it)", ("target", sorted(settable)[0] if settable else "broker_config"))
    if spec.policies:
        raise LocatedValueError("policies: a policy set on a compose-managed cluster would outlive the run and"
                                " reach other queues: set it in the compose project's definitions, or run on"
                                " runtime: local", ("target", "policies"))


# A container node runs the image of its release (rabbitmq:<series>-management, or the stand-in
# `make images` builds for it with RABBITMQ_RELEASES): any release the local runtime takes.
FORM_RULES = {"published": _compose_rules}


def check_clients(scenario: Scenario) -> None:
    """Producers use pika, without an outbox yet; a stream gives every message to every consumer."""
    client = scenario.producer.client
    if client != DEFAULT_KAFKA_CLIENT:
        raise LocatedValueError(f"client {client} is a Kafka client: RabbitMQ producers use pika;"
                                " remove producer.client", ("producer", "client"))
    consumer = scenario.consumer
    for section, spec in (("producer", scenario.producer), ("consumer", consumer)):
        if spec.properties:
            raise LocatedValueError(f"{section}.properties are Kafka client properties: RabbitMQ clients use pika;"
                                    f" remove {section}.properties", (section, "properties"))
    for name in ("client", "group_protocol", "commit", "auto_commit_interval", "auto_offset_reset", "session_timeout",
                 "heartbeat_interval"):
        if getattr(consumer, name) != type(consumer).model_fields[name].default:
            raise LocatedValueError(f"consumer.{name} is a Kafka setting: RabbitMQ consumers use pika;"
                                    f" remove consumer.{name}", ("consumer", name))
    if scenario.producer.outbox is not None:
        raise LocatedValueError("producer outbox: not supported for RabbitMQ yet (Kafka only for now)",
                                ("producer", "outbox"))
    if _spec(scenario).queue.type == "stream" and scenario.consumer.instances > 1:
        raise LocatedValueError(
            "a stream delivers every message to every consumer (RabbitMQ 3.10 has no single active consumer"
            " for streams), so N instances would read everything N times: set consumer.instances: 1",
            ("consumer", "instances"))


def check_leader(scenario: Scenario, sel: Selector, where: tuple[str | int, ...]) -> None:
    """leader(queue) of a queue the run declares: anything else can only fail when it fires."""
    spec = _spec(scenario)
    dead_letter = scenario.consumer.dead_letter
    queues = [spec.queue.name] + ([dead_letter.queue] if dead_letter and dead_letter.queue else [])
    if len(sel.args) != 1:
        raise LocatedValueError(f"{sel}: a RabbitMQ leader is a queue's: write leader({queues[0]})", where)
    if sel.args[0] not in queues:
        raise LocatedValueError(f"{sel}: the run has no queue {sel.args[0]!r} (its queues: {', '.join(queues)})",
                                where)


def _spec(scenario: Scenario) -> RabbitSpec:
    assert isinstance(scenario.target, RabbitSpec)
    return scenario.target


CONSUMER_HEARTBEAT = 10
"""Seconds: the AMQP heartbeat timeout the sample consumers ask for (passed to them as --heartbeat)."""


def detectors(scenario: Scenario, silence: Silence) -> list[Detector]:
    """A crashed node's peers see its connections close at once; a hung or cut-off one is counted down
    only when net ticks stop arriving (up to 1.25 net_ticktime), and only then do classic queues fail over and
    cluster_partition_handling act. Quorum queues' members watch each other with Ra's own, faster
    detector: no warning for them under `ignore`. A hung consumer keeps what it holds unacknowledged
    until its connection's heartbeat times out."""
    spec = _spec(scenario)
    who = silence.who
    if silence.how == "crash" or (who is not None and who.kind == "relay"):
        return []
    if who is not None and who.kind == "consumer":
        return [Detector(CONSUMER_HEARTBEAT, "the sample consumer's AMQP heartbeat",
                         "RabbitMQ closes its connection and requeues what it held unacknowledged")]
    handling = spec.broker_config.get("cluster_partition_handling", "ignore")
    if spec.queue.type == "quorum" and handling == "ignore":
        return []
    # Erlang counts a silent peer down between 0.75 and 1.25 net_ticktime (its ticks go every quarter):
    # seen, rabbitmq-quorum-partition's 11 s partitions at net_ticktime 10 noticed only as they healed
    return [Detector(1.25 * spec.net_ticktime, "1.25 x target.net_ticktime",
                     f"its peers count it down (and classic queues fail over, cluster_partition_handling {handling}"
                     " acts)")]
