"""The CLI's contract with users and CI: exit statuses and messages."""

from __future__ import annotations

from pathlib import Path

from tests.integration.conftest import ROOT, run_cli


def test_validate_accepts_every_shipped_scenario() -> None:
    done = run_cli(["validate", *map(str, sorted((ROOT / "scenarios").glob("*.yaml")))], timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("ok ") == len(list((ROOT / "scenarios").glob("*.yaml")))


def test_invalid_scenario_exits_2_with_file_line_and_column(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\ntarget: {kind: kafka, nodes: 3}\nload: {rate: fast}\n")
    for command in ("validate", "run"):
        done = run_cli([command, str(bad)], timeout=60)
        assert done.returncode == 2
        assert f"{bad}:3:" in done.stderr and "load.rate" in done.stderr
        assert "Traceback" not in done.stderr


def test_plan_prints_the_seeded_schedule() -> None:
    done = run_cli(["plan", str(ROOT / "scenarios" / "kafka-leader-kill-acks-all.yaml")], timeout=60)
    assert done.returncode == 0
    assert "8s kill leader(orders, 0), heal at 16s" in done.stdout


def test_missing_java_is_an_environment_error_with_exit_2(tmp_path: Path) -> None:
    done = run_cli(["run", str(ROOT / "scenarios" / "kafka-leader-kill-acks-all.yaml"), "--out", str(tmp_path)],
                   timeout=120, env={"PATH": "/nonexistent"})
    assert done.returncode == 2
    assert "java not found" in done.stderr and "Traceback" not in done.stderr
