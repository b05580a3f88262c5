"""What a scenario says of a Kafka cluster (`target: {kind: kafka}`), and the rules it must keep:
its own fields here, and the checks of the rest of the scenario that only Kafka needs."""

from __future__ import annotations

from typing import TYPE_CHECKING, Literal

from pydantic import Field, field_validator, model_validator

from harness.brokers.base import Detector, Scenario
from harness.brokers.kafka import config_defs
from harness.brokers.kafka.client_properties import check_properties
from harness.brokers.kafka.dist import kafka_version, release_tuple
from harness.scenario.broker_settings import DATA, IDENTITY, LISTENERS, check_broker_config, check_setting
from harness.scenario.located import LocatedValueError
from harness.scenario.numbers import Whole
from harness.scenario.sections import DEFAULT_KAFKA_CLIENT
from harness.scenario.selectors import Selector
from harness.scenario.strict import NAME, Scalar, Strict, whole

if TYPE_CHECKING:
    from harness.faults.base import Silence

MIN_HEAP_MB, MAX_HEAP_MB = 64, 64 * 1024
# What a run can set on a Kafka cluster it did not configure: these are topic settings too, so they
# apply to the run's topic when it is created.
KAFKA_TOPIC_LEVEL = ("min.insync.replicas", "unclean.leader.election.enable", "retention.ms", "segment.bytes",
                     "max.message.bytes", "message.timestamp.type")

# key or prefix (ending in '.') -> why the harness owns it
KAFKA_OWNED: dict[str, str] = {
    "listeners": LISTENERS,
    "advertised.listeners": LISTENERS,
    "listener.security.protocol.map": LISTENERS,
    "inter.broker.listener.name": LISTENERS,
    "security.inter.broker.protocol": LISTENERS,
    "controller.listener.names": LISTENERS,
    "controller.quorum.voters": LISTENERS,
    "controller.quorum.bootstrap.servers": LISTENERS,
    "listener.name.": LISTENERS,
    "advertised.host.name": LISTENERS,
    "advertised.port": LISTENERS,
    "host.name": LISTENERS,
    "port": LISTENERS,
    "node.id": IDENTITY,
    "broker.id": IDENTITY,
    "process.roles": IDENTITY,
    "zookeeper.": "the harness runs Kafka in KRaft mode, without ZooKeeper",
    "log.dirs": DATA,
    "log.dir": DATA,
    "metadata.log.dir": DATA,
}


def kafka_topic_name(value: str) -> str:
    if value.startswith("__"):
        raise ValueError(f"{value!r} starts with '__', which Kafka keeps for its internal topics"
                         " (__consumer_offsets, ...): choose another name")
    if value in (".", ".."):
        raise ValueError(f"{value!r} is not a Kafka topic name: choose another")
    return value


class TopicSpec(Strict):
    name: str = Field("orders", pattern=NAME)
    partitions: Whole = Field(6, ge=1, le=1000)
    replication_factor: Whole = Field(3, ge=1, le=9)
    config: dict[str, Scalar] = Field(
        default_factory=dict, description="topic properties (retention.ms, cleanup.policy, min.insync.replicas...),"
                                          " given to the topic when the run creates it")

    @field_validator("name")
    @classmethod
    def _not_internal(cls, value: str) -> str:
        return kafka_topic_name(value)


class KafkaSpec(Strict):
    kind: Literal["kafka"]
    nodes: Whole = Field(3, ge=1, le=9, description="brokers")
    controllers: Whole = Field(
        0, ge=0, le=5, description="dedicated KRaft controllers, node(nodes+1) on; 0: every broker is a controller too")
    broker_config: dict[str, Scalar] = Field(default_factory=dict)
    topic: TopicSpec = TopicSpec()
    heap: str = Field("384m", pattern=r"^\d{1,9}[mg]$", description="JVM -Xmx/-Xms per node")
    version: str = Field(default_factory=kafka_version,
                         description="the Kafka release the nodes run (3.9 and later, from Maven Central)")
    replica_log_check: bool = Field(
        False, description="after the run, read every replica's final log with Kafka's DumpLogSegments and count"
                           " lost and log-duplicated ids again, independently of the consumers' ledgers; a"
                           " disagreement is a run error naming the ids")

    @field_validator("version", mode="before")
    @classmethod
    def _a_release(cls, value: object) -> object:
        if isinstance(value, int | float):   # YAML reads 4.1 as a number
            raise ValueError(f"Kafka version {value}: give the whole release, MAJOR.MINOR.PATCH (e.g. 4.1.1)")
        if isinstance(value, str):
            release_tuple(value)
        return value

    @field_validator("heap")
    @classmethod
    def _heap_fits(cls, value: str) -> str:
        megabytes = int(value[:-1]) * (1024 if value.endswith("g") else 1)
        if not MIN_HEAP_MB <= megabytes <= MAX_HEAP_MB:
            raise ValueError(f"heap {value}: give {MIN_HEAP_MB}m to {MAX_HEAP_MB // 1024}g (a broker does not"
                             " start outside that)")
        return value

    @property
    def processes(self) -> int:
        """Every node the cluster runs: the brokers, then the dedicated controllers."""
        return self.nodes + self.controllers

    @model_validator(mode="after")
    def _replicas_fit(self) -> KafkaSpec:
        check_broker_config(KAFKA_OWNED, self.broker_config)
        for key, value in self.topic.config.items():
            check_setting(key, value, ("topic", "config", key))
        defs = config_defs.cached(self.version)
        if defs is not None:   # the release is installed: its own definitions decide (else the run checks)
            config_defs.check_spec_settings(defs, self.broker_config, self.topic.config)
        if self.topic.replication_factor > self.nodes:
            raise LocatedValueError(
                f"replication_factor {self.topic.replication_factor} exceeds nodes {self.nodes}:"
                " lower it or add nodes", ("topic", "replication_factor"))
        for section, settings in (("broker_config",), self.broker_config), (("topic", "config"), self.topic.config):
            if "min.insync.replicas" not in settings:
                continue
            isr = whole(settings["min.insync.replicas"])
            where = (*section, "min.insync.replicas")
            if isr is None or isr < 1:
                raise LocatedValueError(f"min.insync.replicas {settings['min.insync.replicas']!r}:"
                                        " give a whole number of replicas from 1", where)
            if isr > self.topic.replication_factor:
                raise LocatedValueError(
                    f"min.insync.replicas {isr} exceeds replication_factor {self.topic.replication_factor}:"
                    " every acks=all write would fail", where)
        return self


def check_consumer(scenario: Scenario) -> None:
    """Dead-lettering on Kafka: into a topic of its own."""
    spec = _spec(scenario)
    dead_letter = scenario.consumer.dead_letter
    if dead_letter is None:
        return
    where = ("consumer", "dead_letter")
    if dead_letter.queue is not None:
        raise LocatedValueError("Kafka dead-letters into a topic: write dead_letter: {topic: NAME}", where)
    if dead_letter.topic == spec.topic.name:
        raise LocatedValueError("the dead-letter topic must differ from the main topic", (*where, "topic"))


def check_form(scenario: Scenario, form: str) -> None:
    """What the node form the runtime runs (runtimes.base.NODE_FORMS) allows of the spec."""
    FORM_RULES.get(form, _any_form)(scenario)


def _any_form(scenario: Scenario) -> None:
    """A cluster the harness launches as local processes takes every release and setting."""


def _image_rules(scenario: Scenario) -> None:
    """The image's nodes are combined brokers and controllers until dedicated ones are shown on Docker."""
    if _spec(scenario).controllers:
        raise LocatedValueError("controllers: dedicated KRaft controllers run on runtime: local only (not yet"
                                " on containers): remove controllers or run on runtime: local",
                                ("target", "controllers"))


def _compose_rules(scenario: Scenario) -> None:
    """A compose-managed cluster takes its broker settings from its compose file: only topic settings apply."""
    spec = _spec(scenario)
    _image_rules(scenario)
    if spec.version != kafka_version():
        raise LocatedValueError(f"version {spec.version}: a compose-managed cluster runs the release its compose"
                                " file's image holds: remove version (or run it on runtime: local)",
                                ("target", "version"))
    if spec.replica_log_check:
        raise LocatedValueError("replica_log_check reads the replicas' logs from this host: a compose-managed"
                                " cluster keeps them in its own volumes; remove it (or run on runtime: local)",
                                ("target", "replica_log_check"))
    fixed = sorted(set(spec.broker_config) - set(KAFKA_TOPIC_LEVEL))
    if fixed:
        raise LocatedValueError(
            f"broker_config {', '.join(fixed)}: a compose-managed cluster takes its broker settings"
            " from docker-compose.yml (KAFKA_<KEY> variables); only topic-level keys"
            f" ({', '.join(KAFKA_TOPIC_LEVEL)}) apply here", ("target", "broker_config"))


# A container node runs the image of its release (apache/kafka:<release>, or the stand-in `make images`
# builds for it with KAFKA_RELEASES): any release the local runtime takes. A compose cluster's are fixed.
FORM_RULES = {"image": _image_rules, "published": _compose_rules}


def check_clients(scenario: Scenario) -> None:
    """With an outbox the relay publishes, with the default client: no other client may be named.
    KIP-848's consumer group protocol is generally available, and on by default, from Kafka 4.0."""
    if scenario.consumer.group_protocol == "consumer" and release_tuple(_spec(scenario).version) < (4, 0, 0):
        raise LocatedValueError(f"group_protocol consumer (KIP-848) needs Kafka 4.0 or later (on"
                                f" {_spec(scenario).version} it is an early-access preview, off by default):"
                                " set target.version, or use group_protocol: classic", ("consumer", "group_protocol"))
    if scenario.consumer.requeue:
        raise LocatedValueError("consumer.requeue is a RabbitMQ setting (nack back into the queue): a Kafka consumer"
                                " that gives up dead-letters or skips; remove it", ("consumer", "requeue"))
    check_properties(scenario.producer.client, "producer", scenario.producer.properties, ("producer", "properties"))
    check_properties(scenario.consumer.client, "consumer", scenario.consumer.properties, ("consumer", "properties"))
    client = scenario.producer.client
    if client != DEFAULT_KAFKA_CLIENT and scenario.producer.outbox is not None:
        raise LocatedValueError(f"client {client}: with an outbox the relay publishes (with"
                                f" {DEFAULT_KAFKA_CLIENT}); remove producer.client or producer.outbox",
                                ("producer", "client"))


def _spec(scenario: Scenario) -> KafkaSpec:
    assert isinstance(scenario.target, KafkaSpec)
    return scenario.target


def check_leader(scenario: Scenario, sel: Selector, where: tuple[str | int, ...]) -> None:
    """leader(topic, partition) of a topic the run creates: anything else can only fail when it fires."""
    spec = _spec(scenario)
    dead_letter = scenario.consumer.dead_letter
    topics = {spec.topic.name: spec.topic.partitions}
    if dead_letter is not None and dead_letter.topic is not None:
        topics[dead_letter.topic] = 1  # the harness creates it with one partition
    if len(sel.args) != 2:
        raise LocatedValueError(f"{sel}: a Kafka leader is a partition's: write leader(topic, partition),"
                                f" e.g. leader({spec.topic.name}, 0)", where)
    topic, partition = sel.args[0], int(sel.args[1])
    if topic not in topics:
        raise LocatedValueError(f"{sel}: the run has no topic {topic!r} (its topics: {', '.join(topics)})", where)
    if partition >= topics[topic]:
        raise LocatedValueError(f"{sel}: {topic} has {topics[topic]} partition(s), numbered from 0", where)


# Kafka's defaults (3.9 to 4.x) for the failure detectors a silent node must trip; the scenario's
# broker_config overrides them, and harness.brokers.kafka.config's defaults come between.
_DETECTOR_DEFAULTS_MS = {"broker.session.timeout.ms": 9000, "controller.quorum.fetch.timeout.ms": 2000,
                         "controller.quorum.election.timeout.ms": 1000}


def detectors(scenario: Scenario, silence: Silence) -> list[Detector]:
    """A silent broker keeps its partitions until the active controller fences it, when its session
    times out (broker.session.timeout.ms); a silent active controller is replaced once the other
    voters stop hearing from it (the quorum's fetch timeout, then an election), and only then can
    the new one start counting the others' sessions: 12 s in all by default, as the default
    scenario's node logs showed. A killed node's restart does not cut this short (its registration
    is refused until the old session expires), a resumed or reconnected one's does. A hung group
    member keeps its partitions until its session times out; a crashed one leaves at its session's
    end or rejoins as a new member when restarted, so the group changes either way."""
    from harness.brokers.kafka.config import defaults

    spec = _spec(scenario)
    settings = {**_DETECTOR_DEFAULTS_MS, **defaults(spec.nodes), **spec.broker_config}

    def ms(key: str) -> float:
        return float(whole(settings[key]) or 0) / 1000

    who, crash = silence.who, silence.how == "crash"
    if who is not None and who.kind == "relay":
        return []
    if who is not None and who.kind == "consumer":
        # a killed member's restart rejoins under a new member id: the group changes either way
        if scenario.consumer.group_protocol == "consumer":
            key = "group.consumer.session.timeout.ms"
            return [Detector(ms(key), f"target.broker_config.{key}", "the group rebalances its partitions away",
                             outlives_heal=crash)]
        return [Detector(scenario.consumer.session_timeout, "consumer.session_timeout",
                         "the group rebalances its partitions away", outlives_heal=crash)]
    quorum = ms("controller.quorum.fetch.timeout.ms") + ms("controller.quorum.election.timeout.ms")
    session = ms("broker.session.timeout.ms")
    if who is not None and (who.kind == "controller" or (who.kind == "node" and who.index > spec.nodes)):
        return [Detector(quorum, "controller.quorum.fetch.timeout.ms + controller.quorum.election.timeout.ms",
                         "the other voters elect a new active controller", outlives_heal=crash)]
    if spec.controllers > 0:
        return [Detector(session, "broker.session.timeout.ms", "the controller fences it and moves its leadership",
                         outlives_heal=crash)]
    # Every broker votes: the struck one may be the active controller, which must be replaced first.
    return [Detector(quorum + session, "controller.quorum.fetch.timeout.ms + controller.quorum.election.timeout.ms"
                     " + broker.session.timeout.ms",
                     "a controller fences it and moves its leadership (first electing a new controller when it"
                     " was the active one)", outlives_heal=crash)]
