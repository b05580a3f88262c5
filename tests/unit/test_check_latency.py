"""Latency checker: first attempt to first ack (produce) and to first delivery (end to end)."""

from __future__ import annotations

from pathlib import Path

from harness.check.base import Finding
from harness.check.history import History
from harness.check.latency import LatencyChecker

MS = 1_000_000


def write(path: Path, lines: list[str]) -> None:
    path.write_text("\n".join(lines) + "\n")


def latency(ledger: Path) -> Finding:
    with History(ledger) as history:
        return LatencyChecker().check(history)


def test_percentiles_of_produce_and_end_to_end_latency(tmp_path: Path) -> None:
    # 101 messages: produce latency 0..100 ms, end to end twice that
    write(tmp_path / "sends-0.csv", [f"A,{i},{i * 1000 * MS},,," for i in range(101)])
    write(tmp_path / "sends-1.csv", [f"K,{i},{i * 1000 * MS + i * MS},0,{i}," for i in range(101)])
    write(tmp_path / "deliveries-0.csv", [f"{i},0,{i},{i * 1000 * MS + 2 * i * MS},0,0" for i in range(101)])
    assert latency(tmp_path).metrics == {
        "produce_latency_p50_ms": 50.0,
        "produce_latency_p95_ms": 95.0,
        "produce_latency_p99_ms": 99.0,
        "produce_latency_max_ms": 100.0,
        "e2e_latency_p50_ms": 100.0,
        "e2e_latency_p95_ms": 190.0,
        "e2e_latency_p99_ms": 198.0,
        "e2e_latency_max_ms": 200.0,
    }


def test_first_attempt_first_ack_and_first_delivery_are_used(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,0,,,", "A,1,5000000,,,", "K,1,1260000,0,0,", "K,1,9000000,0,0,"])
    write(tmp_path / "deliveries-0.csv", ["1,0,0,3000000,0,0", "1,0,0,2000000,1,0"])
    metrics = latency(tmp_path).metrics
    assert metrics["produce_latency_max_ms"] == 1.3  # 1.26 ms rounded to 0.1
    assert metrics["produce_latency_p50_ms"] == 1.3
    assert metrics["e2e_latency_max_ms"] == 2.0


def test_no_data_gives_unknown_latencies(tmp_path: Path) -> None:
    write(tmp_path / "sends-0.csv", ["A,1,0,,,"])  # attempted, never acked nor delivered
    assert set(latency(tmp_path).metrics.values()) == {None}
    assert set(latency(tmp_path / "empty").metrics.values()) == {None}


def test_time_series_per_second_after_the_load_started(tmp_path: Path) -> None:
    from harness.check.timeseries import TimeSeriesChecker

    s = 1_000_000_000
    t0 = 100 * s
    (tmp_path / "sends-1.csv").write_text("".join(
        f"A,{i},{t0 + i * s // 2},,,\nK,{i},{t0 + i * s // 2 + 10_000_000},0,{i},\n" for i in range(4)))
    (tmp_path / "deliveries-1.csv").write_text("".join(
        f"{i},0,{i},{t0 + i * s // 2 + 30_000_000},1,0\n" for i in range(4)))
    with History(tmp_path, load_window_ns=(t0, t0 + 3 * s)) as h:
        finding = TimeSeriesChecker().check(h)
    assert finding.samples["rates"] == [{"second": 0, "acked": 2, "delivered": 2},
                                        {"second": 1, "acked": 2, "delivered": 2}]
    first = finding.samples["latency"][0]
    assert first["second"] == 0 and first["produce_p50_ms"] == 10.0 and first["e2e_p99_ms"] == 30.0
