"""Availability checker: the longest silence in acks and in deliveries within the load window."""

from __future__ import annotations

from pathlib import Path

from harness.check.availability import AvailabilityChecker
from harness.check.base import Finding
from harness.check.history import History

S = 1_000_000_000


def write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def availability(ledger: Path, window: tuple[int, int] | None = (0, 10 * S)) -> Finding:
    with History(ledger, load_window_ns=window) as history:
        return AvailabilityChecker().check(history)


def acks_at(*seconds: float) -> list[str]:
    return [f"K,{i},{int(t * S)},0,{i}," for i, t in enumerate(seconds)]


def deliveries_at(*seconds: float) -> list[str]:
    return [f"{i},0,{i},{int(t * S)},0,0" for i, t in enumerate(seconds)]


def test_longest_gap_between_acks_is_reported_with_its_start(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", acks_at(1, 2, 6, 9))
    write(tmp_path / "deliveries-0.csv", deliveries_at(0.5, 1.5, 3, 9.5))
    finding = availability(tmp_path)
    assert finding.metrics == {"max_produce_gap_ms": 4000.0, "max_consume_gap_ms": 6500.0}
    assert finding.samples["produce_gap"] == [{"start_ns": 2 * S, "end_ns": 6 * S, "ms": 4000.0}]


def test_window_edges_count_as_gap_ends(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", acks_at(7, 8))
    write(tmp_path / "deliveries-0.csv", deliveries_at(1, 2))
    finding = availability(tmp_path)
    assert finding.metrics == {"max_produce_gap_ms": 7000.0, "max_consume_gap_ms": 8000.0}
    assert finding.samples["produce_gap"] == [{"start_ns": 0, "end_ns": 7 * S, "ms": 7000.0}]


def test_events_outside_the_load_window_are_ignored(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", acks_at(5, 12, 13))
    assert availability(tmp_path).metrics == {"max_produce_gap_ms": 5000.0, "max_consume_gap_ms": 10000.0}


def test_without_a_load_window_the_attempt_span_is_used(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,1000000000,,,", "A,2,4000000000,,,"] + acks_at(1.5, 2))
    assert availability(tmp_path, window=None).metrics == {
        "max_produce_gap_ms": 2000.0,
        "max_consume_gap_ms": 3000.0,
    }


def test_without_window_or_attempts_gaps_are_unknown(tmp_path: Path) -> None:
    finding = availability(tmp_path, window=None)
    assert finding.metrics == {"max_produce_gap_ms": None, "max_consume_gap_ms": None}
    assert finding.samples == {"produce_gap": []}
