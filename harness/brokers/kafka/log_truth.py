"""A second opinion on every Kafka verdict, from the broker itself (issue 17 point 8): once the nodes
have stopped, every replica's final log is read with Kafka's own DumpLogSegments, and lost and
log-duplicated ids are counted again from it, independently of the consumers' ledgers: an
acknowledged id that no replica's final log holds is lost; an id a log holds at two offsets was
written twice. Asked for by `target.replica_log_check: true`.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from harness.brokers.kafka.dist import kafka_classpath, libs_dir
from harness.check.base import SAMPLE_LIMIT
from harness.errors import ClusterError

# Where a release keeps the tool: kafka-tools from 4.x (moved out of core), kafka.tools before.
_TOOLS_CLASS = "org/apache/kafka/tools/DumpLogSegments.class"
_RECORD = re.compile(r"\|\s*offset:\s*(\d+)\b.*?payload:\s*(\{.*\})\s*$")
_SEGMENTS_PER_CALL = 40
_TIMEOUT = 300


def dump_log_segments_class(version: str) -> str:
    """The tool's main class in the release's jars."""
    for jar in libs_dir(version).glob(f"kafka-tools-{version}.jar"):
        with zipfile.ZipFile(jar) as tools:
            if _TOOLS_CLASS in tools.namelist():
                return "org.apache.kafka.tools.DumpLogSegments"
    return "kafka.tools.DumpLogSegments"


def log_contents(nodes_dir: Path, topic: str, version: str) -> dict[int, set[tuple[int, int]]]:
    """id -> {(partition, offset)} over every node's final log of `topic` (replicas agree on
    position; an id at two positions of one partition was written twice)."""
    found: dict[int, set[tuple[int, int]]] = defaultdict(set)
    segments = sorted(nodes_dir.glob(f"kafka-*/data/{topic}-*/*.log"))
    if not segments:
        raise ClusterError(f"no log segment of {topic} under {nodes_dir}: the replicas' logs cannot be read")
    tool = dump_log_segments_class(version)
    for chunk in (segments[i:i + _SEGMENTS_PER_CALL] for i in range(0, len(segments), _SEGMENTS_PER_CALL)):
        done = subprocess.run(["java", "-Xmx256m", "-cp", kafka_classpath(version), tool, "--print-data-log",
                               "--files", ",".join(str(s) for s in chunk)],
                              capture_output=True, text=True, timeout=_TIMEOUT)
        if done.returncode != 0:
            raise ClusterError(f"DumpLogSegments failed: {done.stderr.strip()[-500:]}")
        parse_dump(done.stdout, topic, found)
    return found


def parse_dump(text: str, topic: str, found: dict[int, set[tuple[int, int]]]) -> None:
    """DumpLogSegments --print-data-log's output into `found`: each record's id (its JSON payload's)
    at (partition, offset), the partition named by the segment's `Dumping` line."""
    partition = None
    for line in text.splitlines():
        if line.startswith("Dumping "):
            named = re.search(rf"{re.escape(topic)}-(\d+)/", line)
            partition = int(named.group(1)) if named else None
            continue
        match = _RECORD.search(line)
        if match and partition is not None:
            found[int(json.loads(match.group(2))["id"])].add((partition, int(match.group(1))))


def recount(contents: dict[int, set[tuple[int, int]]], acknowledged: Iterable[int]) -> dict[str, Any]:
    """Lost (acknowledged, in no final log) and log duplicates (extra positions of an id), with the
    lost ids (the first SAMPLE_LIMIT)."""
    lost = sorted(i for i in set(acknowledged) if i not in contents)
    return {"lost": len(lost), "log_duplicates": sum(len(p) - 1 for p in contents.values() if len(p) > 1),
            "lost_ids": lost[:SAMPLE_LIMIT]}
