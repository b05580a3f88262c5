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
