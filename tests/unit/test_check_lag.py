"""Consumer lag over time from synthetic ledgers."""

from __future__ import annotations

from pathlib import Path

from harness.check.history import History
from harness.check.lag import LagChecker

S = 1_000_000_000


def test_lag_is_acked_minus_delivered_over_time(tmp_path: Path) -> None:
    # second 0: ids 1-3 acked on partition 0, id 4 on partition 1; second 1: 1-2 delivered;
    # second 2: 3-4 delivered (4 twice: a redelivery must not make the lag negative)
    (tmp_path / "sends-0.csv").write_text("".join(f"K,{i},{S // 2},{0 if i < 4 else 1},{i},\n" for i in (1, 2, 3, 4)))
    (tmp_path / "deliveries-1.csv").write_text(
        f"1,0,1,{S + 1},1,0\n2,0,2,{S + 2},1,0\n3,0,3,{2 * S},1,0\n4,1,4,{2 * S},1,0\n4,1,4,{2 * S + 5},2,0\n")
    with History(tmp_path, load_window_ns=(0, 3 * S)) as h:
        finding = LagChecker().check(h)
    assert finding.samples["lag"] == [{"second": 0, "lag": 4}, {"second": 1, "lag": 2}, {"second": 2, "lag": 0}]
    assert finding.metrics == {"max_consumer_lag": 4, "final_consumer_lag": 0}


def test_lag_left_at_the_end_is_reported(tmp_path: Path) -> None:
    (tmp_path / "sends-0.csv").write_text(f"K,1,{S},0,0,\nK,2,{S},0,1,\n")
    (tmp_path / "deliveries-1.csv").write_text(f"1,0,0,{2 * S},1,0\n")
    with History(tmp_path, load_window_ns=(0, 3 * S)) as h:
        assert LagChecker().check(h).metrics == {"max_consumer_lag": 2, "final_consumer_lag": 1}


def test_no_history_no_lag(tmp_path: Path) -> None:
    with History(tmp_path, load_window_ns=(0, 3 * S)) as h:
        assert LagChecker().check(h).metrics == {"max_consumer_lag": None, "final_consumer_lag": None}
