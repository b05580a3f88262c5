"""Kafka's container contract, as apache/kafka reads it (and its stand-in aftershock/kafka:local):
every broker property as a KAFKA_* variable, CLUSTER_ID (the entrypoint formats the storage once,
keeping it on a restart), the heap in KAFKA_HEAP_OPTS and other JVM flags in KAFKA_OPTS."""

from __future__ import annotations

import re
from pathlib import Path

from harness.errors import ScenarioError
from harness.runtimes.base import ImageContract

DATA_DIR = "/var/lib/kafka/data"   # the image's data volume; the node's data dir on the host is mounted there
JVM_OPTS = "-XX:ParallelGCThreads=1 -XX:ConcGCThreads=1 -XX:+ExitOnOutOfMemoryError"
# Variables the image reads as JVM or logging settings, never as properties (apache/kafka's excludes).
RESERVED = {"KAFKA_VERSION", "KAFKA_HEAP_OPTS", "KAFKA_LOG4J_OPTS", "KAFKA_OPTS", "KAFKA_JMX_OPTS",
            "KAFKA_JVM_PERFORMANCE_OPTS", "KAFKA_GC_LOG_OPTS", "KAFKA_LOG4J_ROOT_LOGLEVEL", "KAFKA_LOG4J_LOGGERS",
            "KAFKA_TOOLS_LOG4J_LOGLEVEL", "KAFKA_JMX_HOSTNAME", "KAFKA_JMX_PORT"}
_LONE_UNDERSCORE = re.compile(r"[^_]_[^_]")


def property_env(name: str) -> str:
    """apache/kafka's naming: '.' -> '_', '_' -> '__', '-' -> '___', upper case, prefixed KAFKA_."""
    return "KAFKA_" + name.replace("_", "__").replace("-", "___").replace(".", "_").upper()


def property_name(env: str) -> str:
    """The property the image makes of a variable: a port of apache/kafka's ConvertKey (docker/ub),
    quirks included (matches do not overlap, so a one-letter segment keeps its '_')."""
    key = _LONE_UNDERSCORE.sub(lambda m: m.group(0).replace("_", "."), env.removeprefix("KAFKA_"))
    return key.replace("___", "-").replace("__", "_").lower()


def kafka_contract(props: dict[str, str], cluster_id: str, heap: str, data_dir: Path,
                   release: str = "") -> ImageContract:
    """The node's variables; a property the image could not read back unchanged is a scenario error.
    `release`: the Kafka release, whose image (apache/kafka:<release>, or its stand-in) the node runs."""
    env = {}
    for name, value in props.items():
        var = property_env(name)
        if var in RESERVED or property_name(var) != name:
            raise ScenarioError(f"broker_config key {name!r} cannot be passed to the Kafka image as {var}"
                                " (its KAFKA_* naming would read it as another name): use runtime: local")
        env[var] = value
    env |= {"CLUSTER_ID": cluster_id, "KAFKA_HEAP_OPTS": f"-Xms{heap} -Xmx{heap}", "KAFKA_OPTS": JVM_OPTS}
    return ImageContract(role="kafka", env=env, mounts={DATA_DIR: data_dir}, release=release)
