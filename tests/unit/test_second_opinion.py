"""The broker's own count beside the ledgers' (issue 17 point 8), on synthetic logs: DumpLogSegments'
output parsed into ids at (partition, offset), lost and log duplicates counted from it, and a
disagreement named by its ids. The count on real replica logs: tests/integration/test_kafka_log_truth.py."""

from __future__ import annotations

from collections import defaultdict

from harness.brokers.kafka.log_truth import parse_dump, recount
from harness.second_opinion import compare

DUMP = """\
Dumping /run/nodes/kafka-1/data/orders-0/00000000000000000000.log
Log starting offset: 0
baseOffset: 0 lastOffset: 1 count: 2 baseSequence: 0 lastSequence: 1 producerId: 7 isTransactional: false
| offset: 0 CreateTime: 1764000000000 keySize: -1 valueSize: 40 sequence: 0 headerKeys: [] payload: {"id": 1, "p": 1}
| offset: 1 CreateTime: 1764000000001 keySize: -1 valueSize: 40 sequence: 1 headerKeys: [] payload: {"id": 2, "p": 1}
Dumping /run/nodes/kafka-2/data/orders-0/00000000000000000000.log
| offset: 0 CreateTime: 1764000000000 keySize: -1 valueSize: 40 sequence: 0 headerKeys: [] payload: {"id": 1, "p": 1}
| offset: 1 CreateTime: 1764000000001 keySize: -1 valueSize: 40 sequence: 1 headerKeys: [] payload: {"id": 2, "p": 1}
Dumping /run/nodes/kafka-1/data/orders-3/00000000000000000000.log
| offset: 5 CreateTime: 1764000000002 keySize: -1 valueSize: 40 sequence: 0 headerKeys: [] payload: {"id": 3, "p": 2}
| offset: 6 CreateTime: 1764000000003 keySize: -1 valueSize: 40 sequence: 0 headerKeys: [] payload: {"id": 3, "p": 2}
"""


def contents() -> dict[int, set[tuple[int, int]]]:
    found: dict[int, set[tuple[int, int]]] = defaultdict(set)
    parse_dump(DUMP, "orders", found)
    return found


def test_replicas_agree_on_positions_and_an_id_at_two_offsets_was_written_twice() -> None:
    assert contents() == {1: {(0, 0)}, 2: {(0, 1)}, 3: {(3, 5), (3, 6)}}
    assert recount(contents(), {1, 2, 3, 4, 5}) == {"lost": 2, "log_duplicates": 1, "lost_ids": [4, 5]}


def test_agreement_is_none_and_a_disagreement_names_the_ids_on_each_side() -> None:
    theirs = recount(contents(), {1, 2, 3, 4, 5})
    assert compare(theirs, {"lost": 2, "log_duplicates": 1}, [4, 5]) is None
    why = compare(theirs, {"lost": 1, "log_duplicates": 1}, [4, 9])
    assert why is not None
    assert "lost 2 by the logs, 1 by the ledgers" in why and "log_duplicates" not in why
    assert "lost by the logs only: [5]" in why and "lost by the ledgers only: [9]" in why


def test_a_compose_cluster_keeps_its_logs_in_its_own_volumes_so_the_check_is_refused_at_its_line() -> None:
    import pytest

    from harness.errors import ScenarioError
    from harness.scenario.loader import parse_scenario

    text = ("name: t\nruntime: compose\ncompose_project: p\ntarget:\n  kind: kafka\n"
            "  replica_log_check: true\n")
    with pytest.raises(ScenarioError, match=r"s.yaml:6:3: target.replica_log_check: replica_log_check reads"):
        parse_scenario(text, "s.yaml")
    local = "name: t\ntarget:\n  kind: kafka\n  replica_log_check: true\n"
    assert parse_scenario(local, "s.yaml").target.replica_log_check is True
