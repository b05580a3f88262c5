"""What every form of a Kafka cluster shares (KRaft with static voters: N combined broker+controller
nodes, or N brokers beside C dedicated controllers numbered after them): the listener plan, each
node's properties, start-up and readiness, the admin queries, the consumer's wiring. A form
(cluster.py: local processes; image_cluster.py: the image's containers; attached.py: a compose
project's) says how a node is described and what precedes its first start."""

from __future__ import annotations

import base64
import json
import logging
import re
import sys
import uuid
from collections.abc import Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Self

from harness.brokers.base import harness_last
from harness.brokers.kafka.admin import KafkaAdmin, find_key
from harness.brokers.kafka.client_properties import kafka_python_settings
from harness.brokers.kafka.config import defaults, render_properties, render_value, same_setting
from harness.brokers.kafka.observation import kafka_view, quorum
from harness.brokers.kafka.spec import KafkaSpec
from harness.brokers.routes import ClientRoutes, Via
from harness.errors import ClusterError
from harness.observer import View
from harness.paths import REPO
from harness.runtimes.base import NodeProcess, ProcessSpec, Runtime
from harness.scenario.sections import ConsumerSpec
from harness.wait import wait_until

log = logging.getLogger("aftershock")

CONSUMER_APP = REPO / "targets" / "consumers" / "kafka_consumer.py"
CONSUMER_APPS = {"kafka-python": CONSUMER_APP,   # the sample service, by the client library it runs on
                 "confluent-kafka": REPO / "targets" / "consumers" / "kafka_confluent_consumer.py"}
READY_TIMEOUT = 120.0


def _cluster_id() -> str:
    """KRaft wants a base64url UUID without padding, what `kafka-storage random-uuid` prints.
    Like Kafka's own Uuid.randomUuid, never one starting with '-' (it would read as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


class KafkaClusterBase:
    kind = "kafka"

    def __init__(self, spec: KafkaSpec, runtime: Runtime, run_dir: Path, groups: Sequence[str] = ("producer",),
                 via: Via | None = None) -> None:
        self.spec = spec
        self.runtime = runtime
        self.dir = run_dir / "nodes"
        self.cluster_id = _cluster_id()
        ids = range(1, spec.nodes + 1)
        # Dedicated controllers come after the brokers (node(N+1)...); without them every node votes.
        self.brokers = list(ids)
        self.voters = list(range(spec.nodes + 1, spec.nodes + spec.controllers + 1)) or list(ids)
        endpoints = self._plan_listeners(ids)
        self.endpoints: dict[int, tuple[str, int]] = endpoints
        self.bootstrap = ",".join(f"{host}:{port}" for host, port in endpoints.values())
        # Proxied clients need a listener per group, each advertised at that group's proxy.
        self.client_listeners = {(g, i): runtime.free_port() for g in groups for i in ids} if via else {}
        self.routes = ClientRoutes({
            (g, i): (runtime.address(i), self.client_listeners[(g, i)]) if (g, i) in self.client_listeners
            else endpoints[i] for g in groups for i in ids}, via)
        self.nodes: dict[int, NodeProcess] = {i: runtime.process(self._node_spec(i))
                                              for i in sorted({*self.brokers, *self.voters})}
        self.admin = KafkaAdmin({i: self.nodes[i] for i in self.brokers}, endpoints, self.bootstrap,
                                spec.topic.replication_factor, self._topic_settings())
        self.effective: dict[str, Any] = {}   # the scenario's settings as the cluster reports them, once ready

    def _plan_listeners(self, ids: range) -> dict[int, tuple[str, int]]:
        """Each broker's client listener (where it is dialled directly), its ports and the voters' chosen now."""
        self.broker_ports = {i: self.runtime.free_port() for i in ids}
        self.controller_ports = {i: self.runtime.free_port() for i in self.voters}
        return {i: (self.runtime.address(i), port) for i, port in self.broker_ports.items()}

    def _topic_settings(self) -> dict[str, Any] | None:
        """Settings given to the topics the run creates: none, the brokers carry the scenario's."""
        return None

    # -- configuration -------------------------------------------------------------------
    def node_properties(self, i: int) -> dict[str, str]:
        host, n = self.runtime.address(i), self.spec.nodes
        voters = ",".join(f"{j}@{self.runtime.address(j)}:{p}" for j, p in self.controller_ports.items())
        roles = [role for role, ids in (("broker", self.brokers), ("controller", self.voters)) if i in ids]
        listeners: dict[str, tuple[str, int]] = {}
        advertised: dict[str, tuple[str, int]] = {}
        if i in self.brokers:
            listeners["PLAINTEXT"] = advertised["PLAINTEXT"] = (host, self.broker_ports[i])
        if i in self.voters:
            listeners["CONTROLLER"] = (host, self.controller_ports[i])
        for (group, node), port in self.client_listeners.items():
            if node == i:
                listeners[group.upper()] = (host, port)
                advertised[group.upper()] = self.routes.endpoints[(group, i)]
        # A broker reaches the controllers by the CONTROLLER name even when it does not listen on it.
        protocols = {*listeners, "CONTROLLER"}
        owned: dict[str, Any] = {   # the node's identity, addresses and paths: the harness's alone
            "process.roles": ",".join(roles),
            "node.id": i,
            "controller.quorum.voters": voters,
            "listeners": ",".join(f"{name}://{h}:{p}" for name, (h, p) in listeners.items()),
            "controller.listener.names": "CONTROLLER",
            "listener.security.protocol.map": ",".join(f"{name}:PLAINTEXT" for name in sorted(protocols)),
            "log.dirs": self._data_dir(i),
        }
        if advertised:   # a controller-only node must advertise no broker listener
            owned["advertised.listeners"] = ",".join(f"{name}://{h}:{p}" for name, (h, p) in advertised.items())
            owned["inter.broker.listener.name"] = "PLAINTEXT"
        props = harness_last(defaults(n), self.spec.broker_config, owned, "kafka")
        return {k: render_value(v) for k, v in props.items()}

    def _data_dir(self, i: int) -> str | Path:
        """Where node i keeps its log, as the node sees it."""
        return self.dir / f"kafka-{i}" / "data"

    def _node_spec(self, i: int) -> ProcessSpec:
        """Node i as its form runs it."""
        raise NotImplementedError

    def _prepare(self) -> None:
        """What the form does once the nodes' files are written, before their first start."""

    def _bring_up(self) -> None:
        """The nodes' files, the form's preparation, the nodes started; readiness is waited for after."""
        self._write_properties()
        self._prepare()
        for node in self.nodes.values():
            node.start()

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        try:
            self._bring_up()
            self._wait_ready()
            self._read_back_settings()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """SIGKILL, not a controlled shutdown: the cluster is thrown away with the run, and three
        brokers shutting down together wait on each other's leadership handoffs (~6 s) for nothing."""
        self.admin.close()
        for node in self.nodes.values():
            if node.alive:
                if node.paused:
                    node.resume()
                node.kill()

    def _write_properties(self) -> None:
        """Each node's server.properties (in an image, the record of what its KAFKA_* variables say)
        and its data directory."""
        for i in self.nodes:
            node_dir = self.dir / f"kafka-{i}"
            (node_dir / "data").mkdir(parents=True, exist_ok=True)
            (node_dir / "server.properties").write_text(render_properties(self.node_properties(i)))

    def _wait_ready(self) -> None:
        topic = self.spec.topic
        logs = [self.dir / f"kafka-{i}" / "node.log" for i in self.nodes]

        def brokers_registered() -> bool:
            self._check_alive()
            return len(self.admin.client().describe_cluster()["brokers"]) == self.spec.nodes

        wait_until(brokers_registered, what=f"{self.spec.nodes} Kafka brokers to register",
                   timeout=READY_TIMEOUT, interval=0.25, logs=logs)
        self.admin.create_topic(topic.name, topic.partitions, topic.config)

        def fully_replicated() -> bool:
            self._check_alive()
            parts = self.admin.partitions(topic.name)
            return len(parts) == topic.partitions and all(
                p["leader"] >= 0 and len(p["isr"]) == topic.replication_factor for p in parts)

        wait_until(fully_replicated, what=f"topic {topic.name} to be fully replicated",
                   timeout=READY_TIMEOUT, interval=0.25, logs=logs)
        wait_until(lambda: self.admin.brokers_agree(topic.name, topic.partitions),
                   what=f"every broker to know topic {topic.name} as created", timeout=READY_TIMEOUT,
                   interval=0.25, logs=logs, give_up_on=())
        log.info("kafka cluster ready: %s", self.bootstrap)

    def _read_back_settings(self) -> None:
        """What the brokers (and the run's topic) report for every setting the scenario gave, kept
        for the results; one that did not take (a broker running another value) stops the run: a
        verdict on a configuration the cluster does not run would prove nothing."""
        config = self.spec.broker_config
        wanted = {"broker": {key: render_value(config[key]) for key in self._broker_keys()},
                  "topic": {**self.admin.topic_configs,
                            **{key: render_value(value) for key, value in self.spec.topic.config.items()}}}
        self.effective = self.admin.settings(self.brokers, sorted(wanted["broker"]), self.spec.topic.name,
                                             sorted(wanted["topic"]))
        # None: not reported (a password's value never is); the key itself is one the release defines
        wrong = sorted(f"{level} {name} runs {key}={value}" for level, by_name in self.effective.items()
                       for name, configs in by_name.items() for key, value in configs.items()
                       if value is not None and not same_setting(value, wanted[level][key]))
        if wrong:
            asked = ", ".join(f"{key}={value}" for level in wanted.values() for key, value in level.items())
            raise ClusterError(f"settings did not take: asked for {asked}, but {'; '.join(wrong)}")

    def _broker_keys(self) -> list[str]:
        """The scenario's settings each broker was started with (read back from every broker)."""
        return sorted(self.spec.broker_config)

    def settings(self) -> dict[str, Any]:
        """The scenario's settings as the cluster reported them once ready (see _read_back_settings)."""
        return self.effective

    def _check_alive(self) -> None:
        dead = [n.name for n in self.nodes.values() if not n.alive]
        if dead:
            raise ClusterError(f"{', '.join(dead)} exited during start-up: see {self.dir}/<node>/node.log")

    # -- queries ---------------------------------------------------------------------------
    def live_brokers(self) -> set[int]:
        return self.admin.live_brokers()

    def partitions(self, topic: str) -> list[dict[str, Any]]:
        return self.admin.partitions(topic)

    def leader_of(self, *args: str) -> int:
        return self.admin.leader_of(*args)

    def backlog(self) -> int | None:
        return self.admin.backlog()

    def positions(self) -> list[dict[str, Any]]:
        return self.admin.positions()

    def replicas(self) -> dict[str, Any]:
        """The run's topics' partitions as the brokers see them now (ELR included)."""
        return {topic: self.admin.replica_state(topic) for topic in self.admin.readers}

    def assignable_partitions(self) -> int | None:
        return self.spec.topic.partitions

    def group_protocol(self, group: str) -> str | None:
        return self.admin.group_protocol(group)

    def groups(self) -> dict[str, Any]:
        return {group: self.admin.group_members(group) for group in sorted(set(self.admin.readers.values()))}

    def controller(self) -> int:
        """The active KRaft controller: the leader of the highest epoch any voter has recorded.

        Read from each node's quorum-state file rather than asked over the network: a paused
        node still claims its old leadership, and a DescribeQuorum routed to it would hang.
        """
        epoch, leader = quorum(self._data_dirs())
        if epoch < 0:   # no voter wrote its state yet
            return int(find_key(self.admin.query(lambda a: a.describe_metadata_quorum()), "leader_id"))
        if leader is None:
            raise ClusterError(f"no active KRaft controller (election of epoch {epoch} under way)")
        return leader

    def _data_dirs(self) -> dict[int, Path]:
        return {i: self.dir / f"kafka-{i}" / "data" for i in self.nodes}

    def observation(self) -> AbstractContextManager[View]:
        """The cluster's own view for the observer: controller, listed brokers, every read topic's partitions."""
        return kafka_view(self.nodes, self.brokers, self.admin, self._data_dirs(), lambda: list(self.admin.readers))

    def load_config(self) -> dict[str, Any]:
        return {"kind": "kafka", "bootstrap": ",".join(self.routes.dial("producer")), "topic": self.spec.topic.name}

    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: ConsumerSpec) -> ProcessSpec:
        """The sample consumer; its patterns (processing time included) come from --patterns."""
        self.admin.readers[self.spec.topic.name] = consumer.group
        app = CONSUMER_APPS[consumer.client]
        argv = [sys.executable, str(app), "--bootstrap", ",".join(self.routes.dial(f"consumer{instance}")),
                "--topic", self.spec.topic.name, "--group", consumer.group,
                "--instance", str(instance), "--ledger", str(ledger)]
        argv += ["--commit", consumer.commit, "--auto-offset-reset", consumer.auto_offset_reset]
        if consumer.commit == "auto":
            argv += ["--auto-commit-interval", f"{consumer.auto_commit_interval:g}"]
        if consumer.group_protocol != "classic":
            argv += ["--group-protocol", consumer.group_protocol]
        else:
            argv += ["--session-timeout", f"{consumer.session_timeout:g}",
                     "--heartbeat-interval", f"{consumer.heartbeat_interval:g}"]
        if consumer.properties:   # in the client's own names: kafka-python's keywords, librdkafka's as written
            properties = (kafka_python_settings("consumer", consumer.properties) if consumer.client == "kafka-python"
                          else dict(consumer.properties))
            argv += ["--properties", json.dumps(properties)]
        return ProcessSpec(name=f"consumer-{instance}", argv=argv, log_path=log_path)

    def add_destination(self, name: str) -> None:
        """A dead-letter topic, replicated like the main one; ready when its partition has a leader."""
        self.admin.create_topic(name, 1)
        wait_until(lambda: any(p["leader"] >= 0 for p in self.admin.partitions(name)),
                   what=f"topic {name} to have a leader", timeout=60, interval=0.5, give_up_on=())

    def add_drop_record(self, consumer: ConsumerSpec) -> str | None:
        """Kafka discards by retention, never a record a group has yet to read within it: none here."""
        return None

    def dead_letter_reader_spec(self, name: str, ledger: Path, log_path: Path) -> ProcessSpec:
        """The harness's own reader of the dead-letter topic (the sample consumer in reader mode)."""
        self.admin.readers[name] = f"aftershock-{name}-reader"
        argv = [sys.executable, str(CONSUMER_APP), "--bootstrap", self.bootstrap, "--topic", name,
                "--group", f"aftershock-{name}-reader", "--instance", "0", "--ledger", str(ledger), "--dlq-reader"]
        return ProcessSpec(name="dlq-reader", argv=argv, log_path=log_path)

    def versions(self) -> dict[str, str]:
        import kafka

        return {"kafka": self._kafka_version(), "kafka-python": kafka.__version__}

    def _kafka_version(self) -> str:
        """The release a broker names in its own start-up log (AppInfoParser's "Kafka version: X"):
        what an image's or a compose project's nodes run, the harness not having picked their jars;
        "unknown" if no broker has said it yet. The process form knows its release instead."""
        for i in self.brokers:
            path = self.dir / f"kafka-{i}" / "node.log"
            found = re.search(r"Kafka version: (\S+)", path.read_text(errors="replace")) if path.exists() else None
            if found:
                return found.group(1)
        return "unknown"
