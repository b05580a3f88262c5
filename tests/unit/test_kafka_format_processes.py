"""The storage-format JVMs a Kafka start runs die with the start that failed or was interrupted,
and with the orchestrator (the interrupt soak found two outliving a SIGKILLed run, untagged)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.brokers.kafka import cluster as kafka
from harness.brokers.kafka.cluster import KafkaCluster
from harness.errors import ClusterError


def test_a_failed_format_ends_the_other_nodes_formats_and_each_dies_with_its_parent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cluster = object.__new__(KafkaCluster)   # only what formatting reads
    cluster.nodes, cluster.dir, cluster.jvm_extra = {1: None, 2: None}, tmp_path, []
    cluster.classpath, cluster.cluster_id, cluster.log_flags = "", "x", []
    for i in (1, 2):
        (tmp_path / f"kafka-{i}").mkdir()
    started: list[tuple[subprocess.Popen, dict]] = []
    real_popen = subprocess.Popen

    def popen(argv: list[str], **kwargs: object) -> subprocess.Popen:
        stand_in = ["sh", "-c", "exit 1"] if not started else ["sleep", "60"]   # node 1 fails, node 2 hangs on
        started.append((real_popen(stand_in, **kwargs), kwargs))
        return started[-1][0]

    monkeypatch.setattr(kafka.subprocess, "Popen", popen)
    with pytest.raises(ClusterError, match="formatting kafka-1 storage failed"):
        cluster._format()
    assert all(proc.poll() is not None for proc, _ in started), "a format process outlived the failed start"
    assert all(kwargs.get("preexec_fn") is kafka._die_with_parent for _, kwargs in started)
