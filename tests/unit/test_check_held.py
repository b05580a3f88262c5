"""Undelivered is not lost: an acknowledged message the consumers never received, at a log position
the broker still holds (between the group's committed offset and the log end), is counted
undelivered; one whose position the log no longer has is lost. A queue counts what it holds."""

from __future__ import annotations

import json
from pathlib import Path

from harness.check import check_history, merged_metrics
from harness.check.held import BROKER_STATE


def _run(tmp_path: Path, acked: list[tuple[int, int]], delivered: list[int], state: dict | None) -> dict:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    sends = [f"A,{i},{100 + i},,," for i, _ in acked] + [f"K,{i},{200 + i},0,{offset}," for i, offset in acked]
    (ledger / "sends-0.csv").write_text("\n".join(sends) + "\n")
    (ledger / "deliveries-1.csv").write_text("".join(f"{i},0,{i},{300 + i},1,0\n" for i in delivered))
    if state is not None:
        (tmp_path / BROKER_STATE).write_text(json.dumps(state))
    return merged_metrics(check_history(ledger))


def _positions(committed: int, end: int) -> dict:
    return {"topic": "orders", "held": end - committed, "error": None,
            "positions": [{"topic": "orders", "partition": 0, "committed": committed, "end": end},
                          {"topic": "orders-dlq", "partition": 0, "committed": 0, "end": 50}]}


def test_messages_the_log_still_holds_past_the_committed_offset_are_undelivered_not_lost(tmp_path: Path) -> None:
    metrics = _run(tmp_path, [(i, i) for i in range(10)], delivered=list(range(5)), state=_positions(5, 10))
    assert (metrics["lost"], metrics["undelivered"], metrics["broker_held"]) == (0, 5, 5)


def test_a_position_past_the_log_end_was_truncated_away_and_is_lost(tmp_path: Path) -> None:
    # acks=1: offsets 6..9 were acknowledged by a leader whose log was then truncated to 6
    metrics = _run(tmp_path, [(i, i) for i in range(10)], delivered=list(range(6)), state=_positions(6, 6))
    assert (metrics["lost"], metrics["undelivered"], metrics["broker_held"]) == (4, 0, 0)


def test_a_slot_below_the_committed_offset_delivered_with_another_message_is_lost(tmp_path: Path) -> None:
    # id 3 was acknowledged at offset 3, but the slot was later delivered holding id 30
    acked = [(0, 0), (1, 1), (2, 2), (3, 3), (30, 3)]
    metrics = _run(tmp_path, acked, delivered=[0, 1, 2, 30], state=_positions(4, 4))
    assert (metrics["lost"], metrics["undelivered"]) == (1, 0)


def test_a_queue_counts_what_it_still_holds_as_undelivered(tmp_path: Path) -> None:
    state = {"topic": "orders", "held": 3, "positions": [], "error": None}
    metrics = _run(tmp_path, [(i, 0) for i in range(10)], delivered=list(range(5)), state=state)
    assert (metrics["lost"], metrics["undelivered"], metrics["broker_held"]) == (2, 3, 3)


def test_without_a_recorded_broker_state_nothing_is_assumed(tmp_path: Path) -> None:
    metrics = _run(tmp_path, [(i, i) for i in range(4)], delivered=[0], state=None)
    assert metrics["lost"] == 3 and metrics["undelivered"] is None and metrics["broker_held"] is None


def test_a_broker_that_could_not_be_asked_leaves_the_split_unknown(tmp_path: Path) -> None:
    state = {"topic": "orders", "held": None, "positions": [], "error": "KafkaTimeoutError"}
    metrics = _run(tmp_path, [(i, i) for i in range(4)], delivered=[0], state=state)
    assert metrics["lost"] == 3 and metrics["undelivered"] is None


def test_a_run_whose_broker_still_holds_messages_is_an_error_not_a_verdict(tmp_path: Path) -> None:
    from harness.judge import unjudgeable

    assert unjudgeable({"acknowledged": 10, "broker_held": 0, "lost": 0}, tmp_path) is None
    reason = unjudgeable({"acknowledged": 10, "broker_held": 7, "undelivered": 5, "lost": 0}, tmp_path)
    assert reason is not None and "still held 7 message(s)" in reason and "5 acknowledged" in reason
    assert "nothing was tested" in (unjudgeable({"acknowledged": 0}, tmp_path) or "")


def test_a_ledger_row_that_could_not_be_read_makes_the_run_an_error(tmp_path: Path) -> None:
    from harness.judge import unjudgeable

    reason = unjudgeable({"acknowledged": 10, "broker_held": 0, "ledger_rejected_rows": 2}, tmp_path)
    assert reason is not None and "2 complete ledger row(s) could not be read" in reason
    assert unjudgeable({"acknowledged": 10, "broker_held": 0, "ledger_torn_rows": 3,
                        "ledger_rejected_rows": 0}, tmp_path) is None   # a torn row was never written
