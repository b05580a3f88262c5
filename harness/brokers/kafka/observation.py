"""What a Kafka cluster says of itself, for the cluster observer (harness.observer): the active KRaft
controller and its epoch (from the voters' quorum-state files: a paused voter would hang a
DescribeQuorum), which brokers the metadata lists (a fenced or dead broker drops out of it), and
for each topic the harness reads, every partition's leader, leader epoch, in-sync and eligible
replicas and log end. Nodes are named as faults name them (kafka-2), so a fault's target and the
leadership it held are compared as they are.

Asked from the observer's thread: it has an admin client of its own, with a short request timeout,
and each part of a look stands alone. After a broker's kill its partitions are still led by it in
the metadata until its session expires: their log ends are asked of that leader, which does not
answer, so they are recorded unknown (`?`) while the rest of the look goes on (a look that failed
whole for that reason left the first 10 s of a fault unseen, on a real 3.9.1 cluster).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from harness.brokers.kafka.admin import KafkaAdmin
from harness.errors import ClusterError
from harness.observer import UNKNOWN, Fact, View
from harness.runtimes.base import NodeProcess


def quorum(data_dirs: dict[int, Path]) -> tuple[int, int | None]:
    """(epoch, leader) of the KRaft quorum as the voters' quorum-state files record it: the newest
    epoch any voter knows, and its leader, or None while that epoch's election is under way."""
    states = []
    for path in data_dirs.values():
        try:
            states.append(json.loads((path / "__cluster_metadata-0" / "quorum-state").read_text()))
        except (OSError, ValueError):
            continue  # not written yet, or caught mid-write
    if not states:
        return -1, None
    epoch = max(state.get("leaderEpoch", -1) for state in states)
    leaders = {state["leaderId"] for state in states
               if state.get("leaderEpoch") == epoch and state.get("leaderId", -1) >= 0}
    return epoch, leaders.pop() if len(leaders) == 1 else None


@contextmanager
def kafka_view(nodes: dict[int, NodeProcess], brokers: list[int], admin: KafkaAdmin, data_dirs: dict[int, Path],
               topics: Callable[[], list[str]]) -> Iterator[View]:
    """A view over its own admin client (a copy of `admin`'s settings), closed when the observer stops."""
    own = KafkaAdmin({i: nodes[i] for i in brokers}, admin.endpoints, admin.bootstrap, admin.replication_factor,
                     request_timeout_ms=REQUEST_TIMEOUT_MS, bootstrap_timeout_ms=BOOTSTRAP_TIMEOUT_MS)

    def name(node: int | None) -> str:
        return nodes[node].name if node is not None and node in nodes else "-1"

    def cluster_facts(via: int) -> list[Fact]:
        """What broker `via` says of the cluster and of each read topic's partitions."""
        with own.pinned(via):
            described = own.client().describe_cluster()
            state = {int(b["broker_id"]): "fenced" if b.get("is_fenced", False) else "registered"
                     for b in described["brokers"]}
            facts = [Fact(f"node:{name(i)}", "metadata", state.get(i, "absent")) for i in brokers]
            for topic in topics():
                partitions = own.replica_state(topic)
                leaders = {p["partition"]: p["leader"] if p["leader"] is not None and p["leader"] >= 0 else None
                           for p in partitions}
                facts += partition_facts(topic, partitions, own.ends_by_leader(topic, leaders), name)
            facts += group_facts(own, sorted(set(admin.readers.values())))
        return facts

    def view() -> list[Fact]:
        epoch, leader = quorum(data_dirs)
        facts = [Fact("controller", "leader", name(leader)), Fact("controller", "epoch", str(epoch))]
        failures = []
        for via in own.answering():   # a broker cut off by a partition may not answer either: the next one
            try:
                facts += cluster_facts(via)
                break
            except Exception as exc:  # noqa: BLE001 - ask the next broker; the look says who failed
                failures.append(f"{name(via)}: {type(exc).__name__}: {exc}")
                own.close()
        else:
            raise ClusterError("no broker answered the observer: " + "; ".join(failures or ["none runs"]))
        return facts

    try:
        yield view
    finally:
        own.close()


REQUEST_TIMEOUT_MS = 2000   # a look must not wait out the harness's 5 s for a cut-off broker
# kafka-python waits 30 s by default for a first answer while it bootstraps: a look rebuilt its client
# just after a broker's kill and hung 24 s (6 kills 4 s apart, acks=1); the next look tries again.
BOOTSTRAP_TIMEOUT_MS = 3000


def group_facts(own: KafkaAdmin, groups: list[str]) -> list[Fact]:
    """Each read group's members as its coordinator lists them (client id and the tail of its member
    id: a restarted instance rejoins under a new one) and its state, over the observer's own
    kafka-python client (DescribeGroups). A group that cannot be described this look is `?`.
    (librdkafka's admin client in this process, with short timeouts during a broker kill, once
    aborted the whole harness: `rd_kafka_enq_once_del_source_return: Assertion eonce->refcnt > 0`.)"""
    if not groups:
        return []
    client, answering, found = own.client(), set(own.answering()), []
    try:   # kafka-python's own coordinator look-up (cached until the client is rebuilt, as it is when
        # a node is killed, paused or brought back)
        coordinators = client._manager.run(client._find_coordinator_ids, groups)
    except Exception:  # noqa: BLE001 - no coordinator known this look: the groups are unknown
        return [Fact(f"group:{group}", "members", UNKNOWN) for group in groups]
    for group in groups:
        coordinator = coordinators.get(group)
        info: dict[str, Any] = {"error": "coordinator paused or down"}
        if coordinator in answering:   # a paused coordinator would hold the request until it resumes
            try:
                info = client.describe_groups([group], group_coordinator_id=coordinator).get(group) or {}
            except Exception as exc:  # noqa: BLE001 - the group is unknown this look
                info = {"error": str(exc)}
        if info.get("error"):
            found.append(Fact(f"group:{group}", "members", UNKNOWN))
            continue
        found += [Fact(f"group:{group}", "state", str(info.get("group_state", "")).lower()),
                  Fact(f"group:{group}", "members",
                       ";".join(sorted(f"{m['client_id']}@{m['member_id'][-8:]}" for m in info.get("members", []))))]
    return found


def partition_facts(topic: str, partitions: list[dict[str, Any]], ends: dict[int, int | None],
                    name: Callable[[int | None], str]) -> list[Fact]:
    facts = []
    for p in partitions:
        subject = f"partition:{topic}/{p['partition']}"
        leader = p["leader"] if p["leader"] is not None and p["leader"] >= 0 else None
        facts += [Fact(subject, "leader", name(leader)), Fact(subject, "epoch", str(p["leader_epoch"])),
                  Fact(subject, "isr", ";".join(name(r) for r in sorted(p["isr"]))),
                  Fact(subject, "elr", ";".join(name(r) for r in sorted(p["elr"]))),
                  Fact(subject, "offline", ";".join(name(r) for r in sorted(p["offline"])))]
        if p["partition"] in ends:
            end = ends[p["partition"]]
            facts.append(Fact(subject, "end", UNKNOWN if end is None else str(end)))
    return facts
