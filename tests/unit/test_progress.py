"""Live progress figures from growing ledger files (plain mode, as in CI logs)."""

from __future__ import annotations

import io
from pathlib import Path

from rich.console import Console

from harness.ledger.tail import LedgerTail
from harness.progress import Progress


def test_the_tail_counts_each_ledger_kind_and_only_whole_lines(tmp_path: Path) -> None:
    (tmp_path / "sends-load.csv").write_text("A,1,1,,,\nK,1,2,0,0,\nA,2,3,,,\nE,2,4,,,boom\nK,3")
    (tmp_path / "deliveries-1.csv").write_text("1,0,0,5,1,0\n1,0,0,6,2,1\n")
    (tmp_path / "effects-inventory.csv").write_text("1,7,1,normal\n")
    (tmp_path / "dlq-reader.csv").write_text("9,8,poison,1\n")
    (tmp_path / "retries-1.csv").write_text("1,5,1,1,20.0,TransientFailure\n")
    tail = LedgerTail(tmp_path)
    tail.poll()
    assert {k: tail.totals[k] for k in "AKECDSL"} == {"A": 2, "K": 1, "E": 1, "C": 0, "D": 2, "S": 1, "L": 1}
    with open(tmp_path / "sends-load.csv", "a") as f:
        f.write(",0,1,\n")  # the torn last line completes
    assert tail.poll()["K"] == 1 and tail.totals["K"] == 2


def test_progress_line_shows_the_backlog(tmp_path: Path) -> None:
    (tmp_path / "sends-load.csv").write_text("".join(f"K,{i},{i},0,{i},\n" for i in range(10)))
    (tmp_path / "deliveries-1.csv").write_text("".join(f"{i},0,{i},{i},1,0\n" for i in range(4)))
    out = io.StringIO()
    with Progress(Console(file=out, force_terminal=False), LedgerTail(tmp_path), tmp_path) as progress:
        progress.update()
        assert progress.behind == 6
        assert "acked 10" in progress.line() and "delivered 4" in progress.line() and "behind 6" in progress.line()
