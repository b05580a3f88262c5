"""One ledger file per process start: a writer killed mid-row never makes a delivered message look lost."""

from __future__ import annotations

from pathlib import Path

from harness.check import METRICS, check_history, merged_metrics
from harness.check.delivery import DeliveryChecker
from harness.check.history import History
from harness.check.ledger_integrity import LedgerIntegrity
from harness.judge import Expectation, judge
from harness.ledger import LedgerWriter
from harness.ledger.schema import start_files, start_path
from harness.ledger.tail import LedgerTail
from harness.scenario.loader import parse_scenario


def delivery_row(message_id: int, redelivered: int = 0) -> tuple[int, ...]:
    return message_id, 0, message_id, 300 + message_id, 1, redelivered


def csv(row: tuple[int, ...]) -> bytes:
    return (",".join(map(str, row)) + "\n").encode()


def acked_sends(ledger_dir: Path, ids: range) -> None:
    with LedgerWriter(ledger_dir / "sends-load.csv") as sends:
        for i in ids:
            sends.write("A", i, 100 + i, None, None, None)
            sends.write("K", i, 200 + i, 0, i, None)


def killed_mid_row(ledger: LedgerWriter, row: tuple[int, ...], keep: int) -> None:
    """What a SIGKILL inside the write of `row` leaves: its first `keep` bytes, no newline."""
    ledger.flush()
    with open(ledger.path, "ab") as handle:
        handle.write(csv(row)[:keep])


def integrity(ledger_dir: Path) -> dict:
    with History(ledger_dir) as history:
        return LedgerIntegrity().check(history).metrics


def delivered_ids(ledger_dir: Path) -> list[int]:
    with History(ledger_dir) as history:
        return [row[0] for row in history.sql("SELECT id FROM deliveries ORDER BY id")]


def test_each_start_of_a_ledger_writes_a_file_of_its_own(tmp_path: Path) -> None:
    nominal = tmp_path / "ledger" / "deliveries-1.csv"
    first, second = LedgerWriter(nominal), LedgerWriter(nominal)   # two starts at once: never one file
    with first, second:
        first.write(*delivery_row(1))
        second.write(*delivery_row(2))
    with LedgerWriter(nominal) as third:
        third.write(*delivery_row(3))
    assert [first.path, second.path, third.path] == [nominal, nominal.with_name("deliveries-1.r2.csv"),
                                                    nominal.with_name("deliveries-1.r3.csv")]
    assert first.path.read_bytes() == csv(delivery_row(1)) and third.path.read_bytes() == csv(delivery_row(3))
    assert start_files(nominal) == [first.path, second.path, third.path]


def test_start_files_are_in_start_order_and_only_of_their_ledger(tmp_path: Path) -> None:
    nominal = tmp_path / "deliveries-1.csv"
    for start in (10, 1, 2):
        start_path(nominal, start).write_text("")
    for other in ("deliveries-11.csv", "deliveries-1.rx.csv", "deliveries-1.r2.csv.tmp", "deliveries-1.ready"):
        (tmp_path / other).write_text("")
    assert start_files(nominal) == [nominal, tmp_path / "deliveries-1.r2.csv", tmp_path / "deliveries-1.r10.csv"]
    assert start_files(tmp_path / "missing" / "deliveries-1.csv") == []


def test_a_torn_row_then_a_restart_loses_no_delivered_message(tmp_path: Path) -> None:
    """The seen failure: a consumer killed while writing the row of 4 (its flush never returned, so 4 was
    never committed) is restarted with the same --ledger and receives 4 again. Appending to the old file
    merged '4,0,4,30' with the new first row into one bad line, the reader dropped both, and 4 was lost."""
    acked_sends(tmp_path, range(1, 7))
    nominal = tmp_path / "deliveries-1.csv"
    with LedgerWriter(nominal) as first:
        for i in (1, 2, 3):
            first.write(*delivery_row(i))
        killed_mid_row(first, delivery_row(4), keep=8)
    with LedgerWriter(nominal) as restarted:
        for i in (4, 5, 6):
            restarted.write(*delivery_row(i, redelivered=int(i == 4)))
    assert delivered_ids(tmp_path) == [1, 2, 3, 4, 5, 6]
    with History(tmp_path) as history:
        metrics = DeliveryChecker().check(history).metrics
    assert metrics["lost"] == 0 and metrics["delivered"] == 6
    assert integrity(tmp_path) == {"ledger_torn_rows": 1, "ledger_rejected_rows": 0}


def test_a_torn_row_that_would_parse_is_not_read(tmp_path: Path) -> None:
    """Cut inside its last field, a torn row still has every column: it is counted, never read as a row."""
    nominal = tmp_path / "deliveries-1.csv"
    with LedgerWriter(nominal) as first:
        first.write(*delivery_row(1))
        killed_mid_row(first, (2, 0, 2, 302, 1, 10), keep=len(b"2,0,2,302,1,1"))
    assert delivered_ids(tmp_path) == [1]
    with History(tmp_path) as history:
        assert history.records("SELECT ledger, file, kind, text FROM ledger_defects") == [
            {"ledger": "deliveries", "file": "deliveries-1.csv", "kind": "torn", "text": "2,0,2,302,1,1"}]


def test_a_file_holding_only_a_torn_row_is_read_as_empty(tmp_path: Path) -> None:
    (tmp_path / "deliveries-1.csv").write_bytes(b"1,0,1,30")
    (tmp_path / "deliveries-1.r2.csv").write_bytes(csv(delivery_row(1)))
    (tmp_path / "deliveries-2.csv").write_bytes(b"")
    assert delivered_ids(tmp_path) == [1]
    assert integrity(tmp_path) == {"ledger_torn_rows": 1, "ledger_rejected_rows": 0}


def test_torn_rows_of_every_kind_of_ledger_are_counted(tmp_path: Path) -> None:
    (tmp_path / "sends-load.csv").write_bytes(b"A,1,101,,,\nK,1,20")
    (tmp_path / "effects-inventory.csv").write_bytes(b"1,400,1,normal\n2,4")
    (tmp_path / "dlq-reader.csv").write_bytes(b"3,500,poison,1\n")
    assert integrity(tmp_path) == {"ledger_torn_rows": 2, "ledger_rejected_rows": 0}


def test_complete_rows_that_do_not_parse_are_counted_as_rejected(tmp_path: Path) -> None:
    (tmp_path / "deliveries-1.csv").write_bytes(
        b"1,0,1,301,1,0\n2,0,2,302,1\nx,0,3,303,1,0\n4,0,4,304,1,0,9\n,0,5,305,1,0\n6,0,6,306,1,0\n")
    assert delivered_ids(tmp_path) == [1, 6]
    assert integrity(tmp_path) == {"ledger_torn_rows": 0, "ledger_rejected_rows": 4}
    with History(tmp_path) as history:
        lines = history.sql("SELECT line FROM ledger_defects WHERE file IS NOT NULL ORDER BY line")
    assert lines == [(2,), (3,), (4,)]   # the keyless row 5 parses: counted, with no line


def test_torn_rows_are_a_figure_of_every_run_that_a_scenario_may_expect(tmp_path: Path) -> None:
    (tmp_path / "deliveries-1.csv").write_bytes(b"1,0,1,30")
    metrics = merged_metrics(check_history(tmp_path))
    assert metrics["ledger_torn_rows"] == 1 and metrics["ledger_rejected_rows"] == 0
    assert {"ledger_torn_rows", "ledger_rejected_rows"} <= set(METRICS)
    scenario = parse_scenario("name: t\ntarget: {kind: kafka, nodes: 3}\nload: {users: 1, rate: 10, duration: 5s}\n"
                              "expect: {ledger_rejected_rows: 0, ledger_torn_rows: {max: 0}}\n")
    assert set(scenario.expect) == {"ledger_rejected_rows", "ledger_torn_rows"}
    assert judge([Expectation(name="ledger_torn_rows", max=0)], metrics).verdict == "fail"


def test_the_live_tail_counts_every_start_and_no_torn_row(tmp_path: Path) -> None:
    nominal = tmp_path / "deliveries-1.csv"
    tail = LedgerTail(tmp_path)
    with LedgerWriter(nominal) as first:
        first.write(*delivery_row(1))
        first.write(*delivery_row(2))
        killed_mid_row(first, delivery_row(3), keep=5)
    assert tail.poll()["D"] == 2
    with LedgerWriter(nominal) as restarted:
        restarted.write(*delivery_row(3))
    assert tail.poll()["D"] == 1 and tail.totals["D"] == 3
