"""Whatever stops a run, nothing it started survives: Ctrl-C, SIGTERM, or a killed orchestrator."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness.cleanup import RunMarker
from tests.integration.conftest import ROOT, network_leftovers, run_cli, survivors

SCENARIO = """\
name: interrupted
target: {kind: kafka, nodes: 3}
network: {isolation: namespaces}
load: {users: 2, rate: 300, duration: 60s}
consumer: {instances: 2}
faults:
  - {at: 1s, action: latency, link: "client->any", latency: 50ms, heal_after: 50s}
  - {at: 1s, action: partition, mode: isolate, target: "node(3)", heal_after: 50s}
  - {at: 2s, action: pause, target: "node(2)", heal_after: 50s}
"""


def _start_run(tmp_path: Path) -> tuple[subprocess.Popen[bytes], Path]:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    journal = out / "faults.jsonl"
    while not (journal.exists() and journal.read_text().count("\n") >= 3):  # all three faults in force
        assert proc.poll() is None, "the run ended before it could be interrupted"
        assert time.monotonic() < deadline, "the run never reached its load phase"
        time.sleep(0.5)
    return proc, out


@pytest.mark.usefixtures("kafka_available")
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_interrupt_during_a_run_leaves_no_process_behind(tmp_path: Path, sig: signal.Signals) -> None:
    proc, out = _start_run(tmp_path)
    proc.send_signal(sig)
    assert proc.wait(timeout=120) == 130
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "error" and results["error"].startswith("interrupted")
    assert survivors(results["run_id"]) == []  # brokers, consumers, load and toxiproxy
    assert network_leftovers(results["run_id"]) == []


@pytest.mark.usefixtures("kafka_available")
def test_killed_orchestrator_takes_its_processes_with_it(tmp_path: Path) -> None:
    proc, out = _start_run(tmp_path)
    run_id = next(line.split()[2] for line in (out / "harness.log").read_text().splitlines() if " run as-" in line)
    proc.kill()
    proc.wait(timeout=10)
    assert survivors(run_id) == []
    # The kernel cannot clean up namespaces for a SIGKILLed orchestrator: `cleanup` does.
    done = run_cli(["cleanup"], timeout=60)
    assert done.returncode == 0, done.stderr
    assert network_leftovers(run_id) == []


def test_cleanup_ends_leftovers_of_dead_runs_only(tmp_path: Path) -> None:
    env = {**os.environ, "AFTERSHOCK_RUN_ID": "as-dead0001"}
    orphan = subprocess.Popen(["sleep", "600"], env=env, start_new_session=True)
    live_env = {**os.environ, "AFTERSHOCK_RUN_ID": "as-live0001"}
    live = subprocess.Popen(["sleep", "600"], env=live_env, start_new_session=True)
    try:
        with RunMarker("as-live0001", tmp_path):  # this test process stands in for a live orchestrator
            done = run_cli(["cleanup"], timeout=60)
            assert done.returncode == 0, done.stderr
            assert orphan.wait(timeout=10) == -signal.SIGKILL
            assert "as-dead0001" in done.stdout
            assert live.poll() is None, "cleanup must not touch a live run"
    finally:
        for p in (orphan, live):
            p.kill()
            p.wait()
