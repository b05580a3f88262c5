"""A process of the run that dies outside the schedule makes the run an error, seen within a second,
with its exit status and last log lines: never a verdict built on a history it no longer writes."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from harness.runtimes.local import RUN_ID_ENV
from tests.integration.conftest import ROOT, survivors

SCENARIO = """\
name: consumer-dies-outside-the-schedule
target: {kind: kafka, nodes: 3, topic: {partitions: 3}}
load: {users: 2, rate: 200, duration: 20s}
consumer: {instances: 2}
faults:
  - {at: 15s, action: kill, target: "leader(orders, 0)", heal_after: 3s}
"""


def _consumer_pid(out: Path, instance: int) -> tuple[int, str] | None:
    for proc in psutil.process_iter(["pid", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any(arg.endswith("kafka_consumer.py") for arg in cmdline) and str(out) in " ".join(cmdline) \
                and cmdline[cmdline.index("--instance") + 1] == str(instance):
            try:
                return proc.pid, proc.environ().get(RUN_ID_ENV, "")
            except psutil.Error:
                return None
    return None


@pytest.mark.usefixtures("kafka_available")
def test_a_consumer_sigkilled_outside_the_schedule_makes_the_run_an_error(tmp_path: Path) -> None:
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while not (out / "load.log").exists() or not list((out / "ledger").glob("deliveries-*.csv")):
            assert proc.poll() is None, proc.communicate()[0][-3000:]
            assert time.monotonic() < deadline, "the run never reached its load phase"
            time.sleep(0.3)
        time.sleep(3)                       # mid-load, long before the scheduled fault
        found = _consumer_pid(out, 1)
        assert found is not None, "consumer-1 not found in the process table"
        pid, run_id = found
        killed_ns = time.time_ns()
        os.kill(pid, signal.SIGKILL)
        output, _ = proc.communicate(timeout=180)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 2, output[-3000:]
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "error"
    assert "consumer-1 (consumer) exited unexpectedly during load" in results["error"]
    assert "killed by signal 9" in results["error"]
    [exit] = results["process_exits"]
    assert exit["process"] == "consumer-1" and exit["returncode"] == -9 and exit["log_tail"]
    assert (exit["seen_ns"] - killed_ns) / 1e9 < 1.0, "the exit was not seen within a second"
    journal = [json.loads(line) for line in (out / "faults.jsonl").read_text().splitlines()]
    assert any(e["event"] == "exit" and e["process"] == "consumer-1" for e in journal)
    assert not any(e["event"] == "inject" for e in journal), "the run went on to its scheduled fault"
    assert survivors(run_id) == []
