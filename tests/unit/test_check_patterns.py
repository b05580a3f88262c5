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
    assert finding.metrics == {"side_effects": 2, "side_effect_duplicates": 0, "degraded": 1}


def test_a_second_side_effect_for_one_id_is_a_side_effect_duplicate(tmp_path: Path) -> None:
    write(tmp_path / "effects-inventory.csv", ["1,10,1,normal", "1,20,2,normal", "1,30,2,normal", "2,11,1,normal"])
    with History(tmp_path) as h:
        finding = SideEffectChecker().check(h)
    assert finding.metrics["side_effect_duplicates"] == 2
    assert finding.samples["duplicated_effects"] == [{"id": 1, "effects": 3, "consumers": [1, 2, 2]}]


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
    assert metrics == {"dead_lettered": 1, "dead_letter_duplicates": 0, "poison_sent": 1, "poison_missing": 0,
                       "healthy_dead_lettered": 0, "unaccounted": 0}


def test_dead_letter_anomalies_are_each_counted(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", sent(1, 2, 3, 4, 5, poison=(4, 5)))
    write(tmp_path / "effects-inventory.csv", ["1,10,1,normal"])
    # 2 healthy but dead-lettered (retries exhausted), 4 poison twice, 5 poison missing, 3 unaccounted
    write(tmp_path / "dlq-harness.csv", ["2,12,exhausted,5", "4,13,poison,1", "4,14,poison,1"])
    with History(tmp_path) as h:
        finding = DeadLetterChecker().check(h)
    assert finding.metrics == {"dead_lettered": 2, "dead_letter_duplicates": 1, "poison_sent": 2,
                               "poison_missing": 1, "healthy_dead_lettered": 1, "unaccounted": 2}
    assert finding.samples["poison_missing"] == [{"id": 5}]
    assert finding.samples["healthy_dead_lettered"] == [{"id": 2, "reason": "exhausted", "attempts": 5}]
