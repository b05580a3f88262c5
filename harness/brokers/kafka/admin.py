"""Questions the harness asks a Kafka cluster over its admin API (topics, partitions, leaders,
group offsets), through one client that bootstraps only from nodes that answer."""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from harness.brokers.kafka.client_settings import RECONNECT_BACKOFF_MAX_MS
from harness.brokers.kafka.config import render_value
from harness.errors import ClusterError, Interrupted
from harness.runtimes.base import NodeProcess
from harness.wait import wait_until

log = logging.getLogger("aftershock")

METADATA_LAG = 10.0


class KafkaAdmin:
    """The admin client of one cluster; `readers` (topic -> consumer group) says whose offsets count."""

    def __init__(self, nodes: dict[int, NodeProcess], endpoints: dict[int, tuple[str, int]], bootstrap: str,
                 replication_factor: int, topic_configs: dict[str, Any] | None = None,
                 request_timeout_ms: int = 5000, bootstrap_timeout_ms: int = 30000) -> None:
        self.nodes = nodes
        self.endpoints = endpoints
        self.bootstrap = bootstrap
        self.replication_factor = replication_factor
        # On a cluster configured elsewhere, the scenario's settings apply to its topics (the model
        # admits only topic-level keys there).
        self.topic_configs = {k: render_value(v) for k, v in (topic_configs or {}).items()}
        self.readers: dict[str, str] = {}
        self.request_timeout_ms = request_timeout_ms
        self.bootstrap_timeout_ms = bootstrap_timeout_ms
        self._admin: Any = None
        self._admin_bootstrap = ""

    def live_brokers(self) -> set[int]:
        """Node ids of the brokers the cluster counts as live (registered, not fenced) now."""
        brokers = self.query(lambda a: a.describe_cluster())["brokers"]
        return {int(b["broker_id"]) for b in brokers if not b.get("is_fenced", False)}

    def _responsive_bootstrap(self) -> str:
        """Bootstrap list without paused or dead nodes.

        A frozen broker still completes the TCP handshake (the kernel answers), so a client that
        bootstraps from it waits out its whole bootstrap timeout for an answer that never comes.
        """
        up = [f"{host}:{port}" for i, (host, port) in self.endpoints.items()
              if self.nodes[i].alive and not self.nodes[i].paused]
        return ",".join(up) or self.bootstrap

    def client(self) -> Any:
        bootstrap = self._responsive_bootstrap()
        if self._admin is not None and self._admin_bootstrap != bootstrap:
            self.close()  # a node was paused, killed or brought back: bootstrap from the ones that answer
        if self._admin is None:
            from kafka import KafkaAdminClient

            self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=self.request_timeout_ms,
                                           bootstrap_timeout_ms=self.bootstrap_timeout_ms,
                                           client_id="aftershock-admin",
                                           reconnect_backoff_max_ms=RECONNECT_BACKOFF_MAX_MS)
            self._admin_bootstrap = bootstrap
        return self._admin

    def close(self) -> None:
        if self._admin is not None:
            try:
                self._admin.close()
            except Exception:  # noqa: BLE001 - closing a client to a dead cluster may fail; nothing to save
                pass
            self._admin = None

    def query(self, fn: Any) -> Any:
        """Run an admin query; a client that lost its cluster is rebuilt once (not after Ctrl-C or
        SIGTERM: the run's handler raises Interrupted inside the query, and the run must unwind)."""
        try:
            return fn(self.client())
        except Interrupted:
            raise
        except Exception:  # noqa: BLE001 - any client error: rebuild the client and ask once more
            self.close()
            return fn(self.client())

    def topic_seen_by(self, node_id: int, topic: str) -> tuple[str | None, int]:
        """(topic id, partitions with a leader) in broker `node_id`'s own metadata; (None, 0) when
        it does not know the topic. The admin client's queries go to whichever broker it likes."""
        from kafka.protocol.metadata import MetadataRequest

        admin = self.client()
        request = MetadataRequest(topics=[MetadataRequest.MetadataRequestTopic(name=topic)],
                                  allow_auto_topic_creation=False)

        async def ask() -> dict[str, Any]:
            return (await admin._manager.send(request, node_id=node_id)).to_dict()

        try:
            (seen,) = admin._manager.run(ask)["topics"]
        except Exception:
            # Its cached metadata may predate a broker's registration (UnknownBrokerIdError): a new
            # client bootstraps from the brokers as they are now.
            self.close()
            raise
        if seen.get("error_code"):
            return None, 0
        return str(seen.get("topic_id")), sum(1 for p in seen["partitions"] if p["leader_id"] >= 0)

    def brokers_agree(self, topic: str, partitions: int | None) -> bool:
        """Every broker knows the topic by one id with a leader for each partition (partitions
        given), or none knows it (None). A broker still serving a deleted topic's metadata sends
        clients to its old partitions: acknowledged writes into a log about to vanish."""
        views = {self.topic_seen_by(i, topic) for i in self.nodes}
        if partitions is None:
            return views == {(None, 0)}
        return len(views) == 1 and next(iter(views))[0] is not None and next(iter(views))[1] == partitions

    def remove_earlier_topics(self, names: list[str]) -> None:
        """An earlier run's topic (and with it its groups' offsets) would mix old messages into this
        run's history: deleted first, and the deletion awaited."""
        from kafka.errors import UnknownTopicOrPartitionError

        existing = sorted(set(names) & set(self.query(lambda a: a.list_topics())))
        if not existing:
            return
        log.info("deleting topics of an earlier run: %s", ", ".join(existing))
        try:
            self.query(lambda a: a.delete_topics(existing, timeout_ms=30000))
        except UnknownTopicOrPartitionError:
            pass
        wait_until(lambda: not set(existing) & set(self.query(lambda a: a.list_topics())),
                   what=f"topics {', '.join(existing)} to be deleted", timeout=60, interval=0.5, give_up_on=())
        for name in existing:
            forgotten = functools.partial(self.brokers_agree, name, None)
            wait_until(forgotten, what=f"every broker to forget topic {name}", timeout=60, interval=0.5, give_up_on=())

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

    def replica_state(self, topic: str) -> list[dict[str, Any]]:
        """Per partition: leader, epoch, replicas, in-sync replicas and, where the release keeps them
        (KIP-966, on by default for new clusters from 4.1), the eligible leader replicas and the
        last known ones: which replicas a clean election may still pick once the ISR has shrunk."""
        described = self.query(lambda a: a.describe_topic_partitions([topic]))
        return [{"partition": p["partition_index"], "leader": p["leader_id"], "leader_epoch": p["leader_epoch"],
                 "replicas": p["replica_nodes"], "isr": p["isr_nodes"],
                 "elr": p["eligible_leader_replicas"] or [], "last_known_elr": p["last_known_elr"] or [],
                 "offline": p["offline_replicas"]}
                for t in described["topics"] if t["name"] == topic for p in t["partitions"]]

    def positions(self) -> list[dict[str, Any]]:
        """Per partition of every topic the harness reads: the log end and its group's committed offset
        (0 before any commit). What lies between them the broker holds and no consumer has taken."""
        from kafka import TopicPartition

        found = []
        for topic, group in self.readers.items():
            ends = self.log_ends(topic)
            committed = self.query(lambda a, group=group: a.list_group_offsets(group)).get(group, {})
            for partition, end in ends.items():
                tp = TopicPartition(topic, partition)
                done = committed[tp].offset if tp in committed else 0
                found.append({"topic": topic, "partition": partition, "committed": max(done, 0), "end": end})
        return found

    def log_ends(self, topic: str) -> dict[int, int]:
        """Each partition's log end (its high watermark: what a consumer can read) now."""
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        tps = [TopicPartition(topic, p["partition"]) for p in self.partitions(topic)]
        if not tps:
            raise ClusterError(f"{topic} has no partitions the cluster knows of")
        ends = self.query(lambda a: a.list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps}))
        return {tp.partition: ends[tp].offset for tp in tps}

    def answering(self) -> list[int]:
        """The brokers the harness knows to run unpaused, in node order (a paused broker's kernel still
        accepts connections, and a request to it waits out its whole timeout)."""
        return [i for i, node in sorted(self.nodes.items()) if node.alive and not node.paused]

    @contextmanager
    def pinned(self, node_id: int) -> Iterator[None]:
        """Queries that go to any broker (metadata, descriptions) go to `node_id` meanwhile: the
        client's own choice, its least loaded node, may be a paused broker it still has a connection
        to. Requests for a partition's leader still go to that leader."""
        manager = self.client()._manager
        chosen = manager.least_loaded_node
        manager.least_loaded_node = lambda: node_id
        try:
            yield
        finally:
            manager.least_loaded_node = chosen

    def ends_by_leader(self, topic: str, leaders: dict[int, int | None]) -> dict[int, int | None]:
        """Each partition's log end, asked of its leader (`leaders`: partition -> leader) one leader at
        a time, so a leader that does not answer leaves only its own partitions unknown (None), and
        one the harness knows is down or paused is not asked at all."""
        from kafka import TopicPartition
        from kafka.admin import OffsetSpec

        ends: dict[int, int | None] = {p: None for p in leaders}
        by_leader: dict[int, list[TopicPartition]] = {}
        for partition, leader in leaders.items():
            node = self.nodes.get(leader) if leader is not None else None
            if leader is not None and node is not None and node.alive and not node.paused:
                by_leader.setdefault(leader, []).append(TopicPartition(topic, partition))
        for tps in by_leader.values():
            try:
                found = self.client().list_partition_offsets({tp: OffsetSpec.LATEST for tp in tps})
            except Interrupted:
                raise
            except Exception:  # noqa: BLE001 - that leader did not answer: its partitions' ends are unknown
                continue
            ends.update({tp.partition: found[tp].offset for tp in tps if tp in found})
        return ends

    def group_protocol(self, group: str) -> str:
        """The group's protocol as its coordinator says (confluent-kafka's admin client, whose
        description carries the group type; kafka-python's does not): 'classic' or 'consumer'."""
        from confluent_kafka import ConsumerGroupType

        described = self._describe_group(group, "which protocol consumer group {group} runs")
        kinds = {ConsumerGroupType.CLASSIC: "classic", ConsumerGroupType.CONSUMER: "consumer"}
        if described.type not in kinds:
            raise ClusterError(f"the broker did not say which protocol consumer group {group} runs"
                               f" ({described.type}, state {described.state})")
        return kinds[described.type]

    def group_members(self, group: str) -> dict[str, Any]:
        """The group as its coordinator sees it: its state and each member's client id, the partitions
        it owns and (KIP-848) those the coordinator means it to own. A partition no member owns, or a
        target that stays unmet, is a handover that never finished: the consumers stopped short."""
        described = self._describe_group(group, "for the members of consumer group {group}")

        def partitions(assignment: Any) -> list[int]:
            return sorted(tp.partition for tp in assignment.topic_partitions) if assignment is not None else []

        return {"state": str(described.state.name if hasattr(described.state, "name") else described.state),
                "members": [{"client": m.client_id, "member": m.member_id, "owns": partitions(m.assignment),
                             "target": partitions(m.target_assignment)} for m in described.members]}

    def _describe_group(self, group: str, asking: str) -> Any:
        from confluent_kafka.admin import AdminClient

        admin = AdminClient({"bootstrap.servers": self._responsive_bootstrap(), "socket.timeout.ms": 5000})
        try:
            return admin.describe_consumer_groups([group], request_timeout=10)[group].result(timeout=15)
        except Exception as exc:  # noqa: BLE001 - whatever stops the question leaves the answer unknown
            raise ClusterError(f"could not ask {asking.format(group=group)}: {exc}") from None

    def partitions(self, topic: str) -> list[dict[str, Any]]:
        """[{partition, leader, replicas, isr}] as the cluster reports them now."""
        described = self.query(lambda a: a.describe_topics([topic]))
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

    def settings(self, brokers: list[int], broker_keys: list[str], topic: str,
                 topic_keys: list[str]) -> dict[str, dict[str, dict[str, str | None]]]:
        """The values the brokers and a topic report for these settings, whatever their source:
        {"broker": {"1": {key: value}}, "topic": {name: {key: value}}} (None: not reported)."""
        from kafka.admin import ConfigResource, ConfigResourceType

        resources = [ConfigResource(ConfigResourceType.BROKER, str(i), list(broker_keys))
                     for i in (brokers if broker_keys else [])]
        if topic_keys:
            resources.append(ConfigResource(ConfigResourceType.TOPIC, topic, list(topic_keys)))
        if not resources:
            return {}
        found = self.query(lambda a: a.describe_configs(resources, config_filter="all"))
        return {level: {name: {key: (entry or {}).get("value") for key, entry in configs.items()}
                        for name, configs in found.get(level, {}).items()}
                for level in ("broker", "topic") if found.get(level)}

    def create_topic(self, name: str, partitions: int, configs: dict[str, Any] | None = None) -> None:
        """Create a topic, retrying the admin errors of a cluster that just formed (UnknownBrokerId...);
        `configs` (topic properties) over the settings every topic of the run gets."""
        topic_configs = {**self.topic_configs, **{k: render_value(v) for k, v in (configs or {}).items()}}
        from kafka.admin import NewTopic
        from kafka.errors import TopicAlreadyExistsError

        def create() -> bool:
            try:
                self.query(lambda a: a.create_topics([NewTopic(
                    name, num_partitions=partitions, replication_factor=self.replication_factor,
                    topic_configs=topic_configs)]))
            except TopicAlreadyExistsError:
                pass  # an earlier try got through
            return True

        wait_until(create, what=f"topic {name} to be created", timeout=60, interval=1.0, give_up_on=())


def _partition_view(p: dict[str, Any]) -> dict[str, Any]:
    """kafka-python has used both old and new field names; normalise them."""
    pick = lambda *names: next((p[n] for n in names if n in p), None)  # noqa: E731
    return {
        "partition": pick("partition", "partition_index"),
        "leader": pick("leader", "leader_id"),
        "replicas": list(pick("replicas", "replica_nodes") or []),
        "isr": list(pick("isr", "isr_nodes") or []),
    }


def find_key(obj: Any, key: str) -> Any:
    """Depth-first search for a key in nested dicts/lists (response shapes vary by client version)."""
    if isinstance(obj, dict):
        if key in obj:
            return obj[key]
        obj = list(obj.values())
    if isinstance(obj, (list, tuple)):
        for item in obj:
            found = find_key(item, key)
            if found is not None:
                return found
    return None
