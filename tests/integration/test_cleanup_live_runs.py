"""`aftershock cleanup` run by someone else (another HOME and AFTERSHOCK_CACHE, as under sudo or CI)
while a run is live leaves it alone: the run goes on and passes."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import ROOT, network_leftovers, run_cli, survivors

SCENARIO = """\
name: cleanup-spares-live-runs
target: {{kind: kafka, nodes: 3, topic: {{name: orders, partitions: 3, replication_factor: 3}}}}
network: {{isolation: {isolation}}}
producer: {{acks: all}}
load: {{users: 2, rate: 200, duration: 15s}}
consumer: {{instances: 1}}
faults:
  - {{at: 2s, action: kill, target: "leader(orders, 0)", heal_after: 5s}}
  - {{at: 3s, action: latency, link: "client->any", latency: 10ms, heal_after: 4s}}
expect: {{lost: 0}}
"""


@pytest.mark.usefixtures("kafka_available")
def test_cleanup_under_another_home_and_cache_leaves_a_live_run_alone(tmp_path: Path) -> None:
    isolation = "namespaces" if os.geteuid() == 0 else "none"   # namespaces: their owner records matter too
    scenario = tmp_path / "s.yaml"
    scenario.write_text(SCENARIO.format(isolation=isolation))
    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "harness", "run", str(scenario), "--out", str(out)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        journal = out / "faults.jsonl"
        while not (journal.exists() and journal.read_text().count("\n") >= 2):   # both faults in force
            assert proc.poll() is None, "the run ended before cleanup could be tried on it"
            assert time.monotonic() < deadline, "the run never reached its faults"
            time.sleep(0.3)
        run_id = re.search(r" run (as-[0-9a-f]+) ", (out / "harness.log").read_text()).group(1)  # type: ignore[union-attr]  # logged at start
        other = {"HOME": str(tmp_path / "other-home"), "AFTERSHOCK_CACHE": str(tmp_path / "other-cache")}
        done = run_cli(["cleanup"], timeout=60, env=other)
        assert done.returncode == 0, done.stderr
        assert run_id not in done.stdout and run_id.removeprefix("as-") not in done.stdout, done.stdout
        assert proc.wait(timeout=180) == 0, proc.stdout.read().decode(errors="replace")[-3000:]  # type: ignore[union-attr]  # stdout=PIPE
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    results = json.loads((out / "results.json").read_text())
    assert results["verdict"] == "pass", results["error"]
    assert [f["healed_s"] is not None and f["error"] is None for f in results["faults"]] == [True, True], \
        results["faults"]
    assert survivors(run_id) == [] and network_leftovers(run_id) == []
