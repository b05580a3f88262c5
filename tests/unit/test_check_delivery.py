"""Delivery checker on synthetic ledgers, plus check_history's handling of a crashing checker."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.check import CHECKERS, check_history, merged_metrics, register
from harness.check.delivery import DeliveryChecker
from harness.check.history import History
from harness.judge import Expectation, judge
from harness.ledger import LedgerWriter, make_id

ZEROS = {**dict.fromkeys(DeliveryChecker.metrics, 0), "dropped": None}   # None: nothing read what a limit drops


def write(path: Path, lines: list[str], newline_at_end: bool = True) -> None:
    path.write_text("\n".join(lines) + ("\n" if newline_at_end else ""))


def delivery(ledger: Path) -> dict:
    with History(ledger) as history:
        return DeliveryChecker().check(history).metrics


def expected(**changes: int) -> dict:
    return {**ZEROS, **changes}


def sent_and_acked(*ids: int, partition: int = 0) -> list[str]:
    return [f"A,{i},{100 + i},,," for i in ids] + [f"K,{i},{200 + i},{partition},{i}," for i in ids]


def test_clean_history_has_no_anomalies(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent_and_acked(1, 2, 3))
    write(tmp_path / "deliveries-0.csv", [f"{i},0,{i},{300 + i},0,0" for i in (1, 2, 3)])
    assert delivery(tmp_path) == expected(attempted=3, acknowledged=3, delivered=3, deliveries=3)


def test_acked_but_never_delivered_is_lost(tmp_path: Path) -> None:
    message = make_id(2, 7)
    write(tmp_path / "sends-0.csv", sent_and_acked(1) + [f"A,{message},1000,,,", f"K,{message},1500,3,42,"])
    write(tmp_path / "deliveries-0.csv", ["1,0,1,301,0,0"])
    with History(tmp_path) as history:
        finding = DeliveryChecker().check(history)
    assert finding.metrics == expected(attempted=2, acknowledged=2, delivered=1, deliveries=1, lost=1)
    assert finding.samples["lost"] == [
        {"id": message, "producer": 2, "seq": 7, "partition": 3, "offset": 42, "sent_ns": 1000, "acked_ns": 1500}
    ]


def test_same_id_at_two_offsets_is_a_log_duplicate(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent_and_acked(1, 2))
    write(tmp_path / "deliveries-0.csv", ["1,0,1,301,0,0", "1,0,5,305,0,0", "2,0,2,302,0,0"])
    with History(tmp_path) as history:
        finding = DeliveryChecker().check(history)
    assert finding.metrics == expected(
        attempted=2, acknowledged=2, delivered=2, deliveries=3, log_duplicates=1, duplicated=1
    )
    assert finding.samples["duplicated"] == [{"id": 1, "positions": 2, "deliveries": 2, "sent_ns": 101,
                                              "partitions": [0], "offsets": [1, 5], "delivered_ns": 301,
                                              "last_delivered_ns": 305}]


def test_same_offset_delivered_twice_is_a_redelivery_not_a_log_duplicate(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent_and_acked(1, 2))
    write(tmp_path / "deliveries-0.csv", ["1,0,1,301,0,0", "2,0,2,302,0,0"])
    write(tmp_path / "deliveries-1.csv", ["1,0,1,401,1,0", "1,0,1,402,1,0"])
    assert delivery(tmp_path) == expected(
        attempted=2, acknowledged=2, delivered=2, deliveries=4, redeliveries=2, duplicated=2
    )


def test_rabbitmq_redelivered_flag_counts_redeliveries_without_offsets(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent_and_acked(1, 2))
    write(tmp_path / "deliveries-0.csv", ["1,,,301,0,0", "2,,,302,0,0", "1,,,401,1,1"])
    assert delivery(tmp_path) == expected(
        attempted=2, acknowledged=2, delivered=2, deliveries=3, redeliveries=1, duplicated=1
    )


def test_rabbitmq_publish_duplicate_is_two_unflagged_copies_of_one_id(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent_and_acked(1, 2))
    write(tmp_path / "deliveries-0.csv", ["1,0,,301,0,0", "2,0,,302,0,0", "1,0,,401,1,0", "1,0,,402,1,1"])
    assert delivery(tmp_path) == expected(
        attempted=2, acknowledged=2, delivered=2, deliveries=4, log_duplicates=1, redeliveries=1, duplicated=2
    )


def test_delivered_but_never_attempted_is_unexpected(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent_and_acked(1))
    write(tmp_path / "deliveries-0.csv", ["1,0,1,301,0,0", "99,4,8,350,0,0", "99,4,8,360,0,0"])
    with History(tmp_path) as history:
        finding = DeliveryChecker().check(history)
    assert finding.metrics == expected(
        attempted=1, acknowledged=1, delivered=2, deliveries=3, unexpected=1, redeliveries=1, duplicated=1
    )
    assert finding.samples["unexpected"] == [{"id": 99, "partition": 4, "offset": 8, "ts_ns": 350}]


def test_unacknowledged_send_found_later_is_recovered_not_lost(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,100,,,"])
    write(tmp_path / "deliveries-0.csv", ["1,0,0,300,0,0"])
    assert delivery(tmp_path) == expected(attempted=1, delivered=1, deliveries=1, recovered=1)


def test_unacknowledged_send_never_found_is_indeterminate_not_lost(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,100,,,"])
    assert delivery(tmp_path) == expected(attempted=1, indeterminate=1)


def test_send_with_error_and_no_ack_is_failed(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,100,,,", "E,1,150,,,NotLeaderForPartition", "A,2,100,,,", "E,2,120,,,retry"])
    write(tmp_path / "sends-1.csv", ["K,2,180,0,0,"])
    write(tmp_path / "deliveries-0.csv", ["2,0,0,300,0,0"])
    assert delivery(tmp_path) == expected(
        attempted=2, acknowledged=1, failed=1, delivered=1, deliveries=1, indeterminate=1
    )


def test_torn_last_lines_of_killed_writers_are_skipped(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent_and_acked(1, 2) + ["K,3,20"], newline_at_end=False)
    write(tmp_path / "deliveries-0.csv", ["1,0,1,301,0,0", "2,0,2,302,0", "2,0"], newline_at_end=False)
    assert delivery(tmp_path) == expected(attempted=2, acknowledged=2, delivered=1, deliveries=1, lost=1)


def test_ledger_written_by_ledger_writer_is_read(tmp_path: Path) -> None:
    with LedgerWriter(tmp_path / "sends-7.csv") as sends:
        sends.write("A", 5, 100, None, None, None)
        sends.write("E", 5, 110, None, None, 'timed out "soon"')
    assert delivery(tmp_path) == expected(attempted=1, failed=1, indeterminate=1)


def test_missing_ledger_files_give_zeros(tmp_path: Path) -> None:
    assert delivery(tmp_path / "no-such-dir") == ZEROS


class ExplodingChecker:
    name = "exploding"
    metrics = ("exploding_count", "exploding_rate")

    def check(self, history: History) -> None:
        raise RuntimeError("boom")


def test_checker_that_raises_reports_unknown_metrics_and_its_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(CHECKERS, ExplodingChecker.name, ExplodingChecker)
    findings = {finding.checker: finding for finding in check_history(tmp_path)}
    assert findings["exploding"].metrics == {"exploding_count": None, "exploding_rate": None}
    assert findings["exploding"].error == "RuntimeError('boom')"
    assert findings["delivery"].error is None and findings["delivery"].metrics == ZEROS
    expectations = [Expectation("lost", exact=0), Expectation("exploding_count", exact=0)]
    verdict = judge(expectations, merged_metrics(list(findings.values())))
    assert verdict.verdict == "error"


def test_every_builtin_checker_is_registered_and_merged(tmp_path: Path) -> None:
    findings = check_history(tmp_path, load_window_ns=(0, 1_000_000))
    assert {finding.checker for finding in findings} >= {"delivery", "order", "latency", "availability"}
    merged = merged_metrics(findings)
    assert merged["lost"] == 0 and merged["order_violations"] == 0 and merged["max_produce_gap_ms"] == 1.0
    assert merged["produce_latency_p99_ms"] is None


def test_registering_a_checker_with_a_taken_metric_name_is_refused() -> None:
    class Impostor:
        name = "impostor"
        metrics = ("lost",)

    with pytest.raises(ValueError, match="delivery"):
        register(Impostor)
    assert "impostor" not in CHECKERS
