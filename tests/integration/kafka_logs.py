"""Kafka's own account of a run: every replica's final log read with Kafka's DumpLogSegments tool.

An independent check of the harness's verdict: an acknowledged id that no replica's final log holds
is really lost; one that a log holds at two offsets is a log duplicate. The harness must agree.
"""

from __future__ import annotations

import json
import re
import subprocess
import zipfile
from collections import defaultdict
from pathlib import Path

from harness.brokers.kafka.dist import kafka_classpath, kafka_version, libs_dir

# Where a release keeps the tool: kafka-tools from 4.x (moved out of core), kafka.tools before.
_TOOLS_CLASS = "org/apache/kafka/tools/DumpLogSegments.class"


def dump_log_segments_class(version: str | None = None) -> str:
    """The tool's main class in the release's jars."""
    version = version or kafka_version()
    for jar in libs_dir(version).glob(f"kafka-tools-{version}.jar"):
        with zipfile.ZipFile(jar) as tools:
            if _TOOLS_CLASS in tools.namelist():
                return "org.apache.kafka.tools.DumpLogSegments"
    return "kafka.tools.DumpLogSegments"


_RECORD = re.compile(r"\|\s*offset:\s*(\d+)\b.*?payload:\s*(\{.*\})\s*$")


def log_contents(run_dir: Path, topic: str) -> dict[int, set[tuple[int, int]]]:
    """id -> {(partition, offset)} over every broker's final log of `topic` (replicas agree on
    position; an id at two positions of one partition was written twice)."""
    found: dict[int, set[tuple[int, int]]] = defaultdict(set)
    segments = sorted(run_dir.glob(f"nodes/kafka-*/data/{topic}-*/*.log"))
    assert segments, f"no log segments of {topic} under {run_dir}"
    tool = dump_log_segments_class()
    for chunk in (segments[i:i + 40] for i in range(0, len(segments), 40)):
        out = subprocess.run(
            ["java", "-Xmx256m", "-cp", kafka_classpath(), tool, "--print-data-log",
             "--files", ",".join(str(s) for s in chunk)],
            capture_output=True, text=True, timeout=300, check=True).stdout
        partition = None
        for line in out.splitlines():
            if line.startswith("Dumping "):
                partition = int(re.search(rf"{re.escape(topic)}-(\d+)/", line).group(1))  # type: ignore[union-attr]  # a Dumping line names a segment
                continue
            match = _RECORD.search(line)
            if match and partition is not None:
                message_id = json.loads(match.group(2))["id"]
                found[int(message_id)].add((partition, int(match.group(1))))
    return found


def truth(run_dir: Path, topic: str, acknowledged: set[int]) -> tuple[int, int]:
    """(acknowledged ids in no final log, extra log positions of ids written more than once)."""
    contents = log_contents(run_dir, topic)
    lost = sum(1 for message_id in acknowledged if message_id not in contents)
    duplicates = sum(len(positions) - 1 for positions in contents.values() if len(positions) > 1)
    return lost, duplicates
