"""The Kafka cluster's view for the observer, from synthetic quorum-state files and partition
descriptions: the controller as the voters record it, partitions named by node as faults name them."""

from __future__ import annotations

import json
from pathlib import Path

from harness.brokers.kafka.observation import partition_facts, quorum
from harness.observer import Fact


def voters(tmp_path: Path, states: dict[int, dict]) -> dict[int, Path]:
    dirs = {}
    for i, state in states.items():
        path = tmp_path / f"kafka-{i}" / "data"
        (path / "__cluster_metadata-0").mkdir(parents=True)
        (path / "__cluster_metadata-0" / "quorum-state").write_text(json.dumps(state))
        dirs[i] = path
    return dirs


def test_the_controller_is_the_newest_epochs_leader(tmp_path: Path) -> None:
    dirs = voters(tmp_path, {1: {"leaderEpoch": 3, "leaderId": 2}, 2: {"leaderEpoch": 4, "leaderId": 3},
                             3: {"leaderEpoch": 4, "leaderId": 3}})
    assert quorum(dirs) == (4, 3)


def test_an_election_under_way_has_no_controller_and_no_files_say_nothing(tmp_path: Path) -> None:
    dirs = voters(tmp_path, {1: {"leaderEpoch": 5, "leaderId": -1}, 2: {"leaderEpoch": 4, "leaderId": 3}})
    assert quorum(dirs) == (5, None)
    assert quorum({1: tmp_path / "nowhere"}) == (-1, None)


def test_partitions_are_told_by_node_name() -> None:
    names = {1: "kafka-1", 2: "kafka-2", 3: "kafka-3"}

    def name(node: int | None) -> str:
        return names[node] if node is not None else "-1"

    facts = partition_facts("orders", [
        {"partition": 0, "leader": 2, "leader_epoch": 7, "isr": [3, 2], "elr": [1], "offline": []},
        {"partition": 1, "leader": -1, "leader_epoch": 8, "isr": [], "elr": [], "offline": [1]}], {0: 812, 1: 40}, name)
    assert facts[:6] == [Fact("partition:orders/0", "leader", "kafka-2"), Fact("partition:orders/0", "epoch", "7"),
                         Fact("partition:orders/0", "isr", "kafka-2;kafka-3"),
                         Fact("partition:orders/0", "elr", "kafka-1"), Fact("partition:orders/0", "offline", ""),
                         Fact("partition:orders/0", "end", "812")]
    assert Fact("partition:orders/1", "leader", "-1") in facts
    assert Fact("partition:orders/1", "offline", "kafka-1") in facts


class _Node:
    def __init__(self, alive: bool = True, paused: bool = False) -> None:
        self.alive, self.paused = alive, paused


class _Client:
    """Answers ListOffsets for the partitions of leaders that answer; raises for kafka-3's, like a
    request to a broker whose port refuses."""

    def __init__(self, refusing: set[int]) -> None:
        self.refusing, self.asked = refusing, []

    def list_partition_offsets(self, specs: dict) -> dict:
        from types import SimpleNamespace

        partitions = sorted(tp.partition for tp in specs)
        self.asked.append(partitions)
        if set(partitions) & self.refusing:
            raise ConnectionRefusedError(111, "ECONNREFUSED")
        return {tp: SimpleNamespace(offset=100 + tp.partition) for tp in specs}


def test_a_leader_that_does_not_answer_leaves_only_its_own_partitions_unknown() -> None:
    """After a kill the metadata still names the dead broker as leader until its session expires:
    asking it failed the whole look before (10 s unseen on a real cluster), now only its partitions."""
    from harness.brokers.kafka.admin import KafkaAdmin

    nodes = {1: _Node(), 2: _Node(alive=False), 3: _Node(), 4: _Node(paused=True)}
    admin = KafkaAdmin(nodes, {}, "", 3)   # type: ignore[arg-type]
    client = _Client(refusing={2})   # partition 2, led by kafka-3, refuses
    admin.client = lambda: client   # type: ignore[method-assign]
    ends = admin.ends_by_leader("orders", {0: 1, 1: 2, 2: 3, 3: 4, 4: None, 5: 1})
    assert ends == {0: 100, 1: None, 2: None, 3: None, 4: None, 5: 105}
    # the dead and the paused leader are not asked; the one that refused is asked alone
    assert sorted(client.asked) == [[0, 5], [2]]


def test_an_unknown_log_end_is_recorded_as_such() -> None:
    facts = partition_facts("orders", [{"partition": 0, "leader": 2, "leader_epoch": 7, "isr": [2], "elr": [],
                                        "offline": []}], {0: None}, lambda node: f"kafka-{node}")
    assert Fact("partition:orders/0", "end", "?") in facts
