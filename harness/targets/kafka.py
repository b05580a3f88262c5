"""Apache Kafka in KRaft mode: N combined broker+controller nodes with static voters."""

from __future__ import annotations

import base64
import json
import logging
import re
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any, Sequence

from harness.errors import ClusterError, EnvironmentProblem
from harness.load.kafka_settings import RECONNECT_BACKOFF_MAX_MS
from harness.paths import REPO, cache_dir
from harness.runtimes.base import NodeProcess, ProcessSpec, Runtime
from harness.runtimes.local import _die_with_parent
from harness.scenario.model import ConsumerSpec, KafkaTarget
from harness.targets import kafka_cds
from harness.targets.kafka_image import DATA_DIR, kafka_contract
from harness.targets.base import harness_last, refuse_unsafe_settings, register_target
from harness.targets.routes import ClientRoutes
from harness.wait import wait_until

log = logging.getLogger("aftershock")

POM = REPO / "targets" / "kafka" / "pom.xml"
LOG4J = REPO / "targets" / "kafka" / "log4j.properties"
CONSUMER_APP = REPO / "targets" / "consumers" / "kafka_consumer.py"
READY_TIMEOUT = 120.0
METADATA_LAG = 10.0


def kafka_version() -> str:
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    assert match, f"{POM} lacks <kafka.version>"
    return match.group(1)


def kafka_classpath() -> str:
    if shutil.which("java") is None:
        raise EnvironmentProblem("java not found on PATH: install a JDK 17+ (Debian: openjdk-17-jre-headless)")
    libs = cache_dir() / f"kafka-{kafka_version()}" / "libs"
    if not any(libs.glob("kafka_2.13-*.jar")):
        raise EnvironmentProblem(f"Kafka jars not found in {libs}: run `make install` (resolves them with mvn)")
    return f"{libs}/*"


def _cluster_id() -> str:
    """KRaft wants a base64url UUID without padding, what `kafka-storage random-uuid` prints.
    Like Kafka's own Uuid.randomUuid, never one starting with '-' (it would read as an option)."""
    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


@register_target("kafka")
class KafkaCluster:
    kind = "kafka"

    def __init__(self, spec: KafkaTarget, runtime: Runtime, run_dir: Path, groups: Sequence[str] = ("producer",),
                 proxied: bool = False) -> None:
        self.spec = spec
        self.runtime = runtime
        self.dir = run_dir / "nodes"
        # A cluster brought up by someone else (compose): nothing to configure, clients dial what it publishes.
        self.external = bool(getattr(runtime, "external", False))
        # A runtime that runs images (docker): nodes are apache/kafka containers configured by KAFKA_* variables.
        self.in_image = bool(getattr(runtime, "runs_images", False))
        self.cluster_id = _cluster_id()
        ids = range(1, spec.nodes + 1)
        if self.external:
            self.classpath = ""
            self.broker_ports = {}
            self.controller_ports = {}
            endpoints = {i: runtime.endpoint(i) for i in ids}  # type: ignore[attr-defined]
        else:
            self.classpath = "" if self.in_image else kafka_classpath()
            self.broker_ports = {i: runtime.free_port() for i in ids}
            self.controller_ports = {i: runtime.free_port() for i in ids}
            endpoints = {i: (runtime.address(i), port) for i, port in self.broker_ports.items()}
        # Containers run their own JDK: the host's class-data archive is for local JVMs only.
        self.jvm_extra = kafka_cds.jvm_flags(kafka_version()) if runtime.name == "local" else []
        self.endpoints: dict[int, tuple[str, int]] = endpoints
        self.bootstrap = ",".join(f"{host}:{port}" for host, port in endpoints.values())
        # Proxied clients need a listener per group, each advertised at that group's proxy.
        self.client_listeners = {(g, i): runtime.free_port() for g in groups for i in ids} if proxied else {}
        self.routes = ClientRoutes({
            (g, i): (runtime.address(i), self.client_listeners[(g, i)]) if (g, i) in self.client_listeners
            else endpoints[i] for g in groups for i in ids})
        self.nodes: dict[int, NodeProcess] = {i: runtime.process(self._node_spec(i)) for i in ids}
        self._admin: Any = None
        self._admin_bootstrap = ""
        self._readers: dict[str, str] = {}  # topic -> the consumer group the harness reads it with

    # -- configuration -------------------------------------------------------------------
    def node_properties(self, i: int) -> dict[str, str]:
        host, n = self.runtime.address(i), self.spec.nodes
        voters = ",".join(f"{j}@{self.runtime.address(j)}:{p}" for j, p in self.controller_ports.items())
        listeners = {"PLAINTEXT": (host, self.broker_ports[i]), "CONTROLLER": (host, self.controller_ports[i])}
        advertised = {"PLAINTEXT": (host, self.broker_ports[i])}
        for (group, node), port in self.client_listeners.items():
            if node == i:
                listeners[group.upper()] = (host, port)
                advertised[group.upper()] = self.routes.endpoints[(group, i)]
        owned: dict[str, Any] = {   # the node's identity, addresses and paths: the harness's alone
            "process.roles": "broker,controller",
            "node.id": i,
            "controller.quorum.voters": voters,
            "listeners": ",".join(f"{name}://{h}:{p}" for name, (h, p) in listeners.items()),
            "advertised.listeners": ",".join(f"{name}://{h}:{p}" for name, (h, p) in advertised.items()),
            "controller.listener.names": "CONTROLLER",
            "inter.broker.listener.name": "PLAINTEXT",
            "listener.security.protocol.map": ",".join(f"{name}:PLAINTEXT" for name in listeners),
            "log.dirs": DATA_DIR if self.in_image else self.dir / f"kafka-{i}" / "data",
        }
        defaults: dict[str, Any] = {
            "auto.create.topics.enable": "false",
            "offsets.topic.replication.factor": min(3, n),
            "offsets.topic.num.partitions": 6,  # the default 50 takes long to create on 2 cores
            "transaction.state.log.replication.factor": min(3, n),
            "transaction.state.log.min.isr": min(2, n),
            "group.initial.rebalance.delay.ms": 0,
            "num.network.threads": 2,
            "num.io.threads": 4,
        }
        props = harness_last(defaults, self.spec.broker_config, owned, "kafka")
        return {k: _render(v) for k, v in props.items()}

    def _node_spec(self, i: int) -> ProcessSpec:
        node_dir = self.dir / f"kafka-{i}"
        if self.external:
            return ProcessSpec(name=f"kafka-{i}", argv=[], log_path=node_dir / "node.log", node=i)
        if self.in_image:
            contract = kafka_contract(self.node_properties(i), self.cluster_id, self.spec.heap, node_dir / "data")
            return ProcessSpec(name=f"kafka-{i}", argv=[], log_path=node_dir / "node.log", node=i, image=contract)
        heap = self.spec.heap
        argv = [
            "java", *self.jvm_extra, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:ParallelGCThreads=1", "-XX:ConcGCThreads=1", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", f"-Dlog4j.configuration=file:{LOG4J}",
            f"-Dkafka.logs.dir={node_dir / 'logs'}", "-cp", self.classpath,
            "kafka.Kafka", str(node_dir / "server.properties"),
        ]
        return ProcessSpec(name=f"kafka-{i}", argv=argv, log_path=node_dir / "node.log", node=i)

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> "KafkaCluster":
        try:
            if self.external:
                self._check_alive()
                self._remove_earlier_topics([self.spec.topic.name])
            else:
                self._write_properties()
                if not self.in_image:   # the image's entrypoint formats its storage itself
                    self._format()
                for node in self.nodes.values():
                    node.start()
            self._wait_ready()
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """SIGKILL, not a controlled shutdown: the cluster is thrown away with the run, and three
        brokers shutting down together wait on each other's leadership handoffs (~6 s) for nothing.
        A cluster the run did not bring up is left running."""
        self._close_admin()
        if self.external:
            return
        for node in self.nodes.values():
            if node.alive:
                if node.paused:
                    node.resume()
                node.kill()

    def _write_properties(self) -> None:
        """Each node's server.properties (in an image, the record of what its KAFKA_* variables say)
        and its data directory, which an image's non-root user (apache/kafka's appuser) must write."""
        for i in self.nodes:
            node_dir = self.dir / f"kafka-{i}"
            (node_dir / "data").mkdir(parents=True, exist_ok=True)
            if self.in_image:
                (node_dir / "data").chmod(0o777)
            (node_dir / "server.properties").write_text(render_properties(self.node_properties(i)))

    def _format(self) -> None:
        procs = []
        for i in self.nodes:
            node_dir = self.dir / f"kafka-{i}"
            props = node_dir / "server.properties"
            argv = ["java", *self.jvm_extra, "-Xmx256m", "-XX:TieredStopAtLevel=1", f"-Dlog4j.configuration=file:{LOG4J}",
                    "-cp", self.classpath, "kafka.tools.StorageTool", "format", f"--cluster-id={self.cluster_id}",
                    f"--config={props}"]
            log.info("format kafka-%d: %s", i, " ".join(argv))
            out = open(node_dir / "format.log", "wb")
            # Dies with the orchestrator, and with the run when it is interrupted: the interrupt soak
            # found these JVMs outliving a SIGKILLed run, untagged, out of `cleanup`'s reach.
            procs.append((i, subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                              preexec_fn=_die_with_parent), out))
        try:
            for i, proc, out in procs:
                try:
                    code = proc.wait(timeout=90)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = -9
                out.close()
                if code != 0:
                    tail = (self.dir / f"kafka-{i}" / "format.log").read_text(errors="replace")[-2000:]
                    raise ClusterError(f"formatting kafka-{i} storage failed (exit {code}):\n{tail}")
        finally:
            for _, proc, out in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
                out.close()

    def _wait_ready(self) -> None:
        topic = self.spec.topic
        logs = [self.dir / f"kafka-{i}" / "node.log" for i in self.nodes]

        def brokers_registered() -> bool:
            self._check_alive()
            return len(self._admin_client().describe_cluster()["brokers"]) == self.spec.nodes

        wait_until(brokers_registered, what=f"{self.spec.nodes} Kafka brokers to register",
                   timeout=READY_TIMEOUT, interval=1.0, logs=logs)
        self._create_topic(topic.name, topic.partitions)

        def fully_replicated() -> bool:
            self._check_alive()
            parts = self.partitions(topic.name)
            return len(parts) == topic.partitions and all(
                p["leader"] >= 0 and len(p["isr"]) == topic.replication_factor for p in parts)

        wait_until(fully_replicated, what=f"topic {topic.name} to be fully replicated",
                   timeout=READY_TIMEOUT, interval=0.5, logs=logs)
        wait_until(lambda: self._brokers_agree(topic.name, topic.partitions),
                   what=f"every broker to know topic {topic.name} as created", timeout=READY_TIMEOUT,
                   interval=0.5, logs=logs, give_up_on=())
        log.info("kafka cluster ready: %s", self.bootstrap)

    def _topic_seen_by(self, node_id: int, topic: str) -> tuple[str | None, int]:
        """(topic id, partitions with a leader) in broker `node_id`'s own metadata; (None, 0) when
        it does not know the topic. The admin client's queries go to whichever broker it likes."""
        from kafka.protocol.metadata import MetadataRequest

        admin = self._admin_client()
        request = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)],
                                  allow_auto_topic_creation=False)

        async def ask() -> dict[str, Any]:
            return (await admin._manager.send(request, node_id=node_id)).to_dict()

        try:
            (seen,) = admin._manager.run(ask)["topics"]
        except Exception:
            # Its cached metadata may predate a broker's registration (UnknownBrokerIdError): a new
            # client bootstraps from the brokers as they are now.
            self._close_admin()
            raise
        if seen.get("error_code"):
            return None, 0
        return str(seen.get("topic_id")), sum(1 for p in seen["partitions"] if p["leader_id"] >= 0)

    def _brokers_agree(self, topic: str, partitions: int | None) -> bool:
        """Every broker knows the topic by one id with a leader for each partition (partitions
        given), or none knows it (None). A broker still serving a deleted topic's metadata sends
        clients to its old partitions: acknowledged writes into a log about to vanish."""
        views = {self._topic_seen_by(i, topic) for i in self.nodes}
        if partitions is None:
            return views == {(None, 0)}
        return len(views) == 1 and next(iter(views))[0] is not None and next(iter(views))[1] == partitions

    def _check_alive(self) -> None:
        dead = [n.name for n in self.nodes.values() if not n.alive]
        if dead and self.external:
            raise ClusterError(f"compose service(s) {', '.join(dead)} not running: `docker compose --profile kafka"
                               " up -d` brings them up")
        if dead:
            raise ClusterError(f"{', '.join(dead)} exited during start-up: see {self.dir}/<node>/node.log")

    def _remove_earlier_topics(self, names: list[str]) -> None:
        """An earlier run's topic (and with it its groups' offsets) would mix old messages into this
        run's history: deleted first, and the deletion awaited."""
        from kafka.errors import UnknownTopicOrPartitionError

        existing = sorted(set(names) & set(self._query(lambda a: a.list_topics())))
        if not existing:
            return
        log.info("deleting topics of an earlier run: %s", ", ".join(existing))
        try:
            self._query(lambda a: a.delete_topics(existing, timeout_ms=30000))
        except UnknownTopicOrPartitionError:
            pass
        wait_until(lambda: not set(existing) & set(self._query(lambda a: a.list_topics())),
                   what=f"topics {', '.join(existing)} to be deleted", timeout=60, interval=0.5, give_up_on=())
        for name in existing:
            wait_until(lambda: self._brokers_agree(name, None), what=f"every broker to forget topic {name}",
                       timeout=60, interval=0.5, give_up_on=())

    # -- queries ---------------------------------------------------------------------------
    def live_brokers(self) -> set[int]:
        """Node ids of the brokers the cluster counts as live (registered, not fenced) now."""
        brokers = self._query(lambda a: a.describe_cluster())["brokers"]
        return {int(b["broker_id"]) for b in brokers if not b.get("is_fenced", False)}

    def _responsive_bootstrap(self) -> str:
        """Bootstrap list without paused or dead nodes.

        A frozen broker still completes the TCP handshake (the kernel answers), so a client that
        bootstraps from it waits out its whole bootstrap timeout for an answer that never comes.
        """
        up = [f"{host}:{port}" for i, (host, port) in self.endpoints.items()
              if self.nodes[i].alive and not self.nodes[i].paused]
        return ",".join(up) or self.bootstrap

    def _admin_client(self) -> Any:
        bootstrap = self._responsive_bootstrap()
        if self._admin is not None and self._admin_bootstrap != bootstrap:
            self._close_admin()  # a node was paused, killed or brought back: bootstrap from the ones that answer
        if self._admin is None:
            from kafka import KafkaAdminClient

            self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000,
                                           client_id="aftershock-admin",
                                           reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS)
            self._admin_bootstrap = bootstrap
        return self._admin

    def _close_admin(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception:  # noqa: BLE001 - closing a client to a dead cluster may fail; nothing to save
                pass
            self._admin = None

    def _query(self, fn: Any) -> Any:
        """Run an admin query; a client that lost its cluster is rebuilt once."""
        try:
            return fn(self._admin_client())
        except Exception:  # noqa: BLE001
            self._close_admin()
            return fn(self._admin_client())

    def assignable_partitions(self) -> int | None:
        return self.spec.topic.partitions

    def backlog(self) -> int | None:
        """Messages in the log that the harness's consumer groups have not committed yet; None when
        that cannot be told (a committed offset beyond the log end: the log was truncated, and the
        consumer will reset and may read again).

        Consumers ledger before they commit, so 0 means every message the log holds is in a ledger.
        """
        total = 0
        for position in self.positions():
            if position["committed"] > position["end"]:
                return None
            total += position["end"] - position["committed"]
        return total

    def positions(self) -> list[dict[str, Any]]:
        """Per partition of every topic the harness reads: the log end and its group's committed offset
        (0 before any commit). What lies between them the broker holds and no consumer has taken."""
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        found = []
        for topic, group in self._readers.items():
            tps = [TopicPartition(topic, p["partition"]) for p in self.partitions(topic)]
            if not tps:
                raise ClusterError(f"{topic} has no partitions the cluster knows of")
            ends = self._query(lambda a: a.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps}))
            committed = self._query(lambda a: a.list_group_offsets(group)).get(group, {})
            for tp in tps:
                done = committed[tp].offset if tp in committed else 0
                found.append({"topic": topic, "partition": tp.partition, "committed": max(done, 0),
                              "end": ends[tp].offset})
        return found

    def partitions(self, topic: str) -> list[dict[str, Any]]:
        """[{partition, leader, replicas, isr}] as the cluster reports them now."""
        described = self._query(lambda a: a.describe_topics([topic]))
        parts = described[0]["partitions"] if described else []
        return [_partition_view(p) for p in parts]

    def leader_of(self, *args: str) -> int:
        """The partition's leader now. A broker learns of a new topic a moment after the controller
        does, and the admin client asks whichever broker is least loaded: a topic that broker does
        not know yet is asked about again for up to METADATA_LAG seconds before it counts as missing."""
        topic, partition = (args[0], int(args[1])) if len(args) == 2 else (args[0], 0)
        deadline = time.monotonic() + METADATA_LAG
        while True:
            for p in self.partitions(topic):
                if p["partition"] == partition:
                    if p["leader"] < 0:
                        raise ClusterError(f"{topic}/{partition} has no leader right now")
                    return int(p["leader"])
            if time.monotonic() > deadline:
                raise ClusterError(f"{topic}/{partition} does not exist")
            time.sleep(0.2)

    def controller(self) -> int:
        """The active KRaft controller: the leader of the highest epoch any voter has recorded.

        Read from each node's quorum-state file rather than asked over the network: a paused
        node still claims its old leadership, and a DescribeQuorum routed to it would hang.
        """
        states = []
        for i in self.nodes:
            path = self.dir / f"kafka-{i}" / "data" / "__cluster_metadata-0" / "quorum-state"
            try:
                states.append(json.loads(path.read_text()))
            except (OSError, ValueError):
                continue  # not written yet, or caught mid-write
        if not states:
            return int(_find_key(self._query(lambda a: a.describe_metadata_quorum()), "leader_id"))
        # A voter that only voted in the newest epoch records no leader; one that follows does.
        epoch = max(state.get("leaderEpoch", -1) for state in states)
        leaders = {state["leaderId"] for state in states
                   if state.get("leaderEpoch") == epoch and state.get("leaderId", -1) >= 0}
        if len(leaders) != 1:
            raise ClusterError(f"no active KRaft controller (election of epoch {epoch} under way)")
        return int(leaders.pop())

    def load_config(self) -> dict[str, Any]:
        return {"kind": "kafka", "bootstrap": ",".join(self.routes.dial("producer")), "topic": self.spec.topic.name}

    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: ConsumerSpec) -> ProcessSpec:
        """The sample consumer; its patterns (processing time included) come from --patterns."""
        self._readers[self.spec.topic.name] = consumer.group
        argv = [sys.executable, str(CONSUMER_APP), "--bootstrap", ",".join(self.routes.dial(f"consumer{instance}")),
                "--topic", self.spec.topic.name, "--group", consumer.group,
                "--instance", str(instance), "--ledger", str(ledger)]
        return ProcessSpec(name=f"consumer-{instance}", argv=argv, log_path=log_path)

    def add_destination(self, name: str) -> None:
        """A dead-letter topic, replicated like the main one; ready when its partition has a leader."""
        if self.external:
            self._remove_earlier_topics([name])
        self._create_topic(name, 1)
        wait_until(lambda: any(p["leader"] >= 0 for p in self.partitions(name)),
                   what=f"topic {name} to have a leader", timeout=60, interval=0.5, give_up_on=())

    def _create_topic(self, name: str, partitions: int) -> None:
        """Create a topic, retrying the admin errors of a cluster that just formed (UnknownBrokerId...)."""
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError

        # On a cluster configured elsewhere, the scenario's settings apply to its topics (the model
        # admits only topic-level keys there).
        configs = {k: _render(v) for k, v in self.spec.broker_config.items()} if self.external else {}

        def create() -> bool:
            try:
                self._query(lambda a: a.create_topics([NewTopic(
                    name, num_partitions=partitions, replication_factor=self.spec.topic.replication_factor,
                    topic_configs=configs)]))
            except TopicAlreadyExistsError:
                pass  # an earlier try got through
            return True

        wait_until(create, what=f"topic {name} to be created", timeout=60, interval=1.0, give_up_on=())

    def dead_letter_reader_spec(self, name: str, ledger: Path, log_path: Path) -> ProcessSpec:
        """The harness's own reader of the dead-letter topic (the sample consumer in reader mode)."""
        self._readers[name] = f"aftershock-{name}-reader"
        argv = [sys.executable, str(CONSUMER_APP), "--bootstrap", self.bootstrap, "--topic", name,
                "--group", f"aftershock-{name}-reader", "--instance", "0", "--ledger", str(ledger), "--dlq-reader"]
        return ProcessSpec(name="dlq-reader", argv=argv, log_path=log_path)

    def versions(self) -> dict[str, str]:
        import kafka

        if self.external or self.in_image:
            where = "compose image" if self.external else "image"
            return {"kafka": f"{where} {self.runtime.image(1)}", "kafka-python": kafka.__version__}  # type: ignore[attr-defined]
        return {"kafka": kafka_version(), "kafka-python": kafka.__version__}


def render_properties(props: dict[str, str]) -> str:
    """server.properties: `key=value` lines, a backslash written as Java's properties reader wants it
    (a trailing one would otherwise join the next line to this value)."""
    refuse_unsafe_settings("kafka", props)
    return "".join(f"{k}={v.replace(chr(92), chr(92) * 2)}\n" for k, v in props.items())


def _render(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _partition_view(p: dict[str, Any]) -> dict[str, Any]:
    """kafka-python has used both old and new field names; normalise them."""
    pick = lambda *names: next((p[n] for n in names if n in p), None)  # noqa: E731
    return {
        "partition": pick("partition", "partition_index"),
        "leader": pick("leader", "leader_id"),
        "replicas": list(pick("replicas", "replica_nodes") or []),
        "isr": list(pick("isr", "isr_nodes") or []),
    }


def _find_key(obj: Any, key: str) -> Any:
    """Depth-first search for a key in nested dicts/lists (response shapes vary by client version)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        for item in obj:
            found = _find_key(item, key)
            if found is not None:
                return found
    return None
