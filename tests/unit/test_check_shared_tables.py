"""The rare cases the shared per-id table hands back to the raw ledger rows (harness.check.tables):
an id read at several log positions, acknowledged or delivered in several partitions, an error."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from harness.check.delivery import DeliveryChecker
from harness.check.history import History
from harness.check.lag import LagChecker
from harness.check.order import previous_max_in_stream

S = 1_000_000_000


def write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def delivery(ledger: Path) -> dict:
    with History(ledger) as history:
        return DeliveryChecker().check(history).metrics


def lag_series(ledger: Path) -> list[dict]:
    with History(ledger, load_window_ns=(0, 3 * S)) as history:
        return LagChecker().check(history).samples["lag"]


def test_id_read_at_two_log_positions_is_a_log_duplicate(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,100,,,", "K,1,200,0,5,"])
    # position (0, 5) read twice, then the same id again at (1, 7): a second copy in the log
    write(tmp_path / "deliveries-0.csv", ["1,0,5,300,0,0", "1,0,5,400,1,0", "1,1,7,500,0,0"])
    metrics = delivery(tmp_path)
    assert (metrics["log_duplicates"], metrics["redeliveries"], metrics["deliveries"], metrics["duplicated"]) == (
        1, 1, 3, 2)


def test_stored_copies_without_offsets_count_as_positions(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,100,,,", "K,1,200,0,,"])
    # two fresh copies of id 1 in a queue (a publish duplicate), one flagged redelivery of it
    write(tmp_path / "deliveries-0.csv", ["1,,,300,0,0", "1,,,400,0,0", "1,,,500,0,1"])
    metrics = delivery(tmp_path)
    assert (metrics["log_duplicates"], metrics["redeliveries"], metrics["deliveries"]) == (1, 1, 3)


def test_error_counts_as_failed_only_without_an_ack(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,100,,,", "E,1,150,,,timeout", "A,2,100,,,", "E,2,150,,,timeout",
                                     "K,2,200,0,0,"])
    write(tmp_path / "deliveries-0.csv", ["2,0,0,300,0,0"])
    metrics = delivery(tmp_path)
    assert (metrics["failed"], metrics["indeterminate"], metrics["acknowledged"]) == (1, 1, 1)


def test_id_acknowledged_in_two_partitions_counts_in_both(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", [f"K,1,{S // 2},0,0,", f"K,1,{S // 2 + 1},1,0,", f"K,2,{S // 2},0,1,"])
    write(tmp_path / "deliveries-0.csv", [f"1,0,0,{S + 1},0,0", f"2,0,1,{2 * S},0,0"])
    assert lag_series(tmp_path) == [{"second": 0, "lag": 3}, {"second": 1, "lag": 2}, {"second": 2, "lag": 1}]


def test_id_delivered_in_two_partitions_counts_in_both(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", [f"K,1,{S // 2},0,0,", f"K,2,{S // 2},1,0,"])
    write(tmp_path / "deliveries-0.csv", [f"1,0,0,{S + 1},0,0", f"1,1,0,{2 * S},0,0", f"2,1,1,{2 * S + 1},0,0"])
    assert lag_series(tmp_path) == [{"second": 0, "lag": 2}, {"second": 1, "lag": 1}, {"second": 2, "lag": -1}]


def test_running_maximum_restarts_with_each_stream() -> None:
    seq = np.array([1, 3, 2, 0, 5, 4, 9, 1])
    partition = np.ma.masked_array([0, 0, 0, 1, 1, 1, 0, 0], mask=[0, 0, 0, 0, 0, 0, 1, 1])
    assert previous_max_in_stream(seq, partition).tolist() == [-1, 1, 3, -1, 0, 5, -1, 9]


def test_running_maximum_of_nothing_is_empty() -> None:
    assert previous_max_in_stream(np.zeros(0, dtype=np.int64), np.zeros(0)).tolist() == []
