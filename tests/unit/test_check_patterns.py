"""Checker rules for side effects and dead letters, on synthetic ledgers."""

from __future__ import annotations

from pathlib import Path

from harness.check.dead_letters import DeadLetterChecker
from harness.check.history import History
from harness.check.side_effects import SideEffectChecker


def write(path: Path, rows: list[str]) -> None:
    path.write_text("".join(row + "\n" for row in rows))


def sent(*ids: int, poison: tuple[int, ...] = ()) -> list[str]:
    rows = [f"A,{i},{i},,," for i in ids] + [f"K,{i},{i + 1},0,{i}," for i in ids]
    return rows + [f"P,{i},{i},,," for i in poison]


def test_idempotent_history_has_no_side_effect_duplicates(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent(1, 2))
    write(tmp_path / "effects-inventory.csv", ["1,10,1,normal", "2,11,2,degraded"])
    with History(tmp_path) as h:
        finding = SideEffectChecker().check(h)
    assert finding.metrics == {"side_effects": 2, "side_effect_duplicates": 0, "degraded": 1, "side_effect_replays": 0}


def test_a_second_side_effect_for_one_id_is_a_side_effect_duplicate(tmp_path: Path) -> None:
    write(tmp_path / "effects-inventory.csv", ["1,10,1,normal", "1,20,2,normal", "1,30,2,normal", "2,11,1,normal"])
    with History(tmp_path) as h:
        finding = SideEffectChecker().check(h)
    assert finding.metrics["side_effect_duplicates"] == 2
    assert finding.samples["duplicated_effects"] == [{"id": 1, "effects": 3, "consumers": [1, 2, 2]}]


def test_a_replayed_call_is_not_a_second_side_effect(tmp_path: Path) -> None:
    write(tmp_path / "effects-inventory.csv", ["1,10,1,normal", "1,20,2,replay", "2,11,1,normal"])
    with History(tmp_path) as h:
        finding = SideEffectChecker().check(h)
    assert finding.metrics == {"side_effects": 2, "side_effect_duplicates": 0, "degraded": 0, "side_effect_replays": 1}


def test_without_a_downstream_service_side_effects_are_unknown(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent(1))
    with History(tmp_path) as h:
        assert set(SideEffectChecker().check(h).metrics.values()) == {None}
        assert DeadLetterChecker().check(h).metrics["unaccounted"] is None


def test_every_poison_message_dead_lettered_once_and_nothing_else_lost(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent(1, 2, 3, poison=(3,)))
    write(tmp_path / "effects-inventory.csv", ["1,10,1,normal", "2,11,1,normal"])
    write(tmp_path / "dlq-harness.csv", ["3,12,poison,1"])
    with History(tmp_path) as h:
        metrics = DeadLetterChecker().check(h).metrics
    assert metrics == {"dead_lettered": 1, "dead_letter_duplicates": 0, "poison_sent": 1, "poison_acknowledged": 1,
                       "poison_missing": 0, "healthy_dead_lettered": 0, "unaccounted": 0}


def test_a_poison_send_the_broker_never_confirmed_is_sent_but_not_acknowledged(tmp_path: Path) -> None:
    """The load's end can cut a send short after the message left: it may still be dead-lettered."""
    write(tmp_path / "sends-0.csv", sent(1, 2, poison=(2,)) + ["A,3,3,,,", "P,3,3,,,"])
    write(tmp_path / "dlq-harness.csv", ["2,12,poison,1", "3,13,poison,1"])
    with History(tmp_path) as h:
        metrics = DeadLetterChecker().check(h).metrics
    assert (metrics["poison_sent"], metrics["poison_acknowledged"], metrics["poison_missing"]) == (2, 1, 0)


def test_dead_letter_anomalies_are_each_counted(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent(1, 2, 3, 4, 5, poison=(4, 5)))
    write(tmp_path / "effects-inventory.csv", ["1,10,1,normal"])
    # 2 healthy but dead-lettered (retries exhausted), 4 poison twice, 5 poison missing, 3 unaccounted
    write(tmp_path / "dlq-harness.csv", ["2,12,exhausted,5", "4,13,poison,1", "4,14,poison,1"])
    with History(tmp_path) as h:
        finding = DeadLetterChecker().check(h)
    assert finding.metrics == {"dead_lettered": 2, "dead_letter_duplicates": 1, "poison_sent": 2,
                               "poison_acknowledged": 2, "poison_missing": 1, "healthy_dead_lettered": 1,
                               "unaccounted": 2}
    assert finding.samples["poison_missing"] == [{"id": 5}]
    assert finding.samples["healthy_dead_lettered"] == [{"id": 2, "reason": "exhausted", "attempts": 5}]


def test_retries_are_counted_per_message(tmp_path: Path) -> None:
    from harness.check.consumer_patterns import RetryChecker

    write(tmp_path / "retries-1.csv", ["5,10,1,1,20.0,TransientFailure", "5,30,1,2,40.5,DownstreamFailure",
                                       "6,50,2,1,10.0,TransientFailure"])
    with History(tmp_path) as h:
        finding = RetryChecker().check(h)
    assert finding.metrics == {"retries": 3, "retried_messages": 2, "max_retry_delay_ms": 40.5}
    assert finding.samples["most_retried"][0] == {"id": 5, "retries": 2,
                                                  "errors": ["TransientFailure", "DownstreamFailure"]}


def test_breaker_timeline_trips_and_time_open(tmp_path: Path) -> None:
    from harness.check.consumer_patterns import BreakerChecker

    ms = 1_000_000
    write(tmp_path / "breaker-1.csv", [f"0,{0 * ms},1,closed,open", f"0,{2000 * ms},1,open,half_open",
                                       f"0,{2001 * ms},1,half_open,open", f"0,{4001 * ms},1,open,half_open",
                                       f"0,{4002 * ms},1,half_open,closed"])
    write(tmp_path / "breaker-2.csv", [f"0,{100 * ms},2,closed,open", f"0,{600 * ms},2,open,half_open"])
    write(tmp_path / "rejections-1.csv", [f"7,{10 * ms},1,park", f"7,{110 * ms},1,park", f"8,{120 * ms},1,park"])
    with History(tmp_path, load_window_ns=(-1000 * ms, 9000 * ms)) as h:
        finding = BreakerChecker().check(h)
    metrics = finding.metrics
    assert finding.samples["transitions"][:2] == [{"at_s": 1.0, "consumer": 1, "old": "closed", "new": "open"},
                                                  {"at_s": 1.1, "consumer": 2, "old": "closed", "new": "open"}]
    assert metrics == {"breaker_trips": 3, "breaker_open_ms": 4500.0, "breaker_max_open_ms": 2000.0,
                       "breakers_left_open": 1,  # consumer 2 ended half-open
                       "breaker_rejected_calls": 3, "breaker_rejected_messages": 2}


def test_no_breaker_means_unknown_breaker_figures(tmp_path: Path) -> None:
    from harness.check.consumer_patterns import BreakerChecker

    with History(tmp_path) as h:
        assert set(BreakerChecker().check(h).metrics.values()) == {None}


def test_the_drain_waits_for_poison_messages_on_their_way_to_the_dead_letter_queue(tmp_path: Path) -> None:
    from harness.check.delivery import outstanding

    write(tmp_path / "sends-0.csv", sent(1, 2, 3, poison=(2, 3)))
    write(tmp_path / "deliveries-1.csv", ["1,0,0,5,1,0", "2,0,1,6,1,0", "3,0,2,7,1,0"])
    with History(tmp_path) as h:
        assert outstanding(h) == 0          # no dead-letter queue is read: nothing to wait for
    write(tmp_path / "dlq-reader.csv", ["2,9,rejected,1"])
    with History(tmp_path) as h:
        assert outstanding(h) == 1          # 3 is still in the broker's hands
