"""Order checker: per-producer sequence order within a partition, by offset or by arrival."""

from __future__ import annotations

from pathlib import Path

from harness.check.base import Finding
from harness.check.history import History
from harness.check.order import OrderChecker
from harness.ledger import make_id


def write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def order(ledger: Path) -> Finding:
    with History(ledger) as history:
        return OrderChecker().check(history)


def log(partition: int, producer: int, seqs: list[int], first_offset: int = 0) -> list[str]:
    """Deliveries of `seqs` at consecutive offsets, each arriving 10 ns after the previous one."""
    return [
        f"{make_id(producer, seq)},{partition},{first_offset + i},{1000 + 10 * i},0,0" for i, seq in enumerate(seqs)
    ]


def test_in_order_log_has_no_violations(tmp_path: Path) -> None:
    write(tmp_path / "deliveries-0.csv", log(0, 1, [0, 1, 2, 3]) + log(1, 1, [4, 5]))
    finding = order(tmp_path)
    assert finding.metrics == {"order_violations": 0}
    assert finding.samples == {"reordered": []}


def test_message_behind_a_later_one_of_its_producer_is_a_violation(tmp_path: Path) -> None:
    write(tmp_path / "deliveries-0.csv", log(0, 1, [0, 2, 1, 3]))
    finding = order(tmp_path)
    assert finding.metrics == {"order_violations": 1}
    assert finding.samples["reordered"] == [
        {"id": make_id(1, 1), "partition": 0, "offset": 2, "seq": 1, "previous_max_seq": 2, "sent_ns": None,
         "delivered_ns": 1020}
    ]


def test_every_message_overtaken_counts(tmp_path: Path) -> None:
    write(tmp_path / "deliveries-0.csv", log(0, 1, [3, 1, 2, 4]))
    assert order(tmp_path).metrics == {"order_violations": 2}


def test_log_order_is_by_offset_not_by_arrival_time(tmp_path: Path) -> None:
    # offsets 0,1 arrive in reverse time order (two consumers), the log itself is in order
    write(tmp_path / "deliveries-0.csv", [f"{make_id(1, 0)},0,0,2000,0,0", f"{make_id(1, 1)},0,1,1000,1,0"])
    assert order(tmp_path).metrics == {"order_violations": 0}


def test_producers_and_partitions_are_ordered_independently(tmp_path: Path) -> None:
    write(
        tmp_path / "deliveries-0.csv",
        log(0, 1, [5, 6]) + log(0, 2, [0, 1], first_offset=2) + log(1, 1, [0, 1]),
    )
    assert order(tmp_path).metrics == {"order_violations": 0}


def test_redelivered_position_is_judged_by_its_first_delivery(tmp_path: Path) -> None:
    lines = log(0, 1, [0, 1, 2]) + [f"{make_id(1, 0)},0,0,5000,0,1"]  # offset 0 consumed again later
    write(tmp_path / "deliveries-0.csv", lines)
    assert order(tmp_path).metrics == {"order_violations": 0}


def test_without_offsets_arrival_order_per_consumer_is_checked(tmp_path: Path) -> None:
    write(
        tmp_path / "deliveries-0.csv",
        [
            f"{make_id(1, 0)},,,100,0,0",
            f"{make_id(1, 2)},,,200,0,0",
            f"{make_id(1, 1)},,,300,0,0",  # overtaken on consumer 0
            f"{make_id(1, 1)},,,150,1,0",  # consumer 1 sees its own stream, in order
            f"{make_id(1, 2)},,,250,1,0",
        ],
    )
    finding = order(tmp_path)
    assert finding.metrics == {"order_violations": 1}
    assert finding.samples["reordered"] == [
        {"id": make_id(1, 1), "partition": None, "offset": None, "seq": 1, "previous_max_seq": 2, "sent_ns": None,
         "delivered_ns": 150}
    ]


def test_without_offsets_broker_flagged_redeliveries_may_arrive_late(tmp_path: Path) -> None:
    write(
        tmp_path / "deliveries-0.csv",
        [f"{make_id(1, 0)},,,100,0,0", f"{make_id(1, 1)},,,200,0,0", f"{make_id(1, 0)},,,300,0,1"],
    )
    assert order(tmp_path).metrics == {"order_violations": 0}


def test_missing_deliveries_give_no_violations(tmp_path: Path) -> None:
    assert order(tmp_path).metrics == {"order_violations": 0}
