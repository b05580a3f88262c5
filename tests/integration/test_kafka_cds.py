"""The class-data archive the install step builds is one the brokers' JVM really maps."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from harness.brokers.kafka import cds as kafka_cds
from harness.brokers.kafka.cluster import KafkaCluster
from harness.brokers.kafka.dist import kafka_classpath, kafka_version
from harness.brokers.kafka.spec import KafkaSpec
from harness.runtimes.local import LocalRuntime

pytestmark = pytest.mark.usefixtures("kafka_available")


def test_the_brokers_start_with_an_archive_their_jvm_accepts(tmp_path: Path) -> None:
    cluster = KafkaCluster(KafkaSpec(kind="kafka"), LocalRuntime("cdstest"), tmp_path)
    flags = kafka_cds.jvm_flags(kafka_version())
    assert flags, f"no archive at {kafka_cds.archive_path(kafka_version())}: make install builds it"
    for node in cluster.nodes.values():
        assert flags[0] in node.spec.argv
    # -Xshare:on turns "archive unusable, start without it" into a failure.
    done = subprocess.run(["java", *flags, "-Xshare:on", "-cp", kafka_classpath(), "kafka.Kafka", "--version"],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and kafka_version() in done.stdout + done.stderr, done.stdout + done.stderr
