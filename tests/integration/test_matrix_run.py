"""One small real matrix run through the CLI: two variants, each a real cluster, compared. Without
faults, each variant must also be a perfect run: everything acknowledged delivered once, in order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from junitparser import JUnitXml

from tests.integration.conftest import run_cli, survivors

pytestmark = pytest.mark.usefixtures("kafka_available")

MATRIX = """\
name: kafka-matrix-acks
seed: 3
target: {kind: kafka, nodes: 3, broker_config: {min.insync.replicas: 2}}
load: {users: 2, rate: 200, duration: 8s}
consumer: {group: matrix, instances: 1}
drain: {timeout: 30s, settle: 1s}
expect: {lost: 0, unexpected: 0}
matrix:
  producer.acks: [1, all]
"""


def test_a_matrix_runs_every_variant_and_compares_them(tmp_path: Path) -> None:
    scenario = tmp_path / "matrix.yaml"
    scenario.write_text(MATRIX)
    out, junit = tmp_path / "out", tmp_path / "junit.xml"
    done = run_cli(["run", str(scenario), "--out", str(out), "--junit", str(junit)], timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    data = json.loads((out / "comparison.json").read_text())
    assert [row["variant"] for row in data["variants"]] == ["acks=1", "acks=all"]
    assert all(row["verdicts"] == ["pass"] for row in data["variants"])
    for slug, acks in (("acks-1", 1), ("acks-all", "all")):
        run = out / slug
        results = json.loads((run / "results.json").read_text())
        counts, metrics = results["counts"], results["metrics"]
        assert json.loads((run / "scenario.resolved.json").read_text())["producer"]["acks"] == acks
        assert counts["acknowledged"] >= 1200  # 200/s for 8 s, allowing for start-up
        assert counts["delivered"] == counts["acknowledged"] == counts["attempted"]
        assert counts["lost"] == counts["duplicated"] == counts["unexpected"] == metrics["order_violations"] == 0
        assert results["load_stats"]["requests"] == counts["attempted"]
        for name in ("harness.log", "schedule.json", "scenario.yaml", "nodes/kafka-1/node.log", "load-stats.json",
                     "report.html"):
            assert (run / name).exists(), name
        assert "start kafka-1: java" in (run / "harness.log").read_text()
        assert survivors(results["run_id"]) == []
    assert "comparison" in done.stdout and (out / "comparison.html").exists() and (out / "index.html").exists()
    suite = next(iter(JUnitXml.fromfile(str(junit))))
    assert suite.tests == 2 and suite.failures == 0
