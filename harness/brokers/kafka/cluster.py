"""A Kafka cluster of local processes (node form "process"): each node a JVM started from the jars
of the spec's release in the cache, with the host's class-data archive for that release and the
logging config of its backend, its storage formatted before its first start."""

from __future__ import annotations

import logging
import subprocess

from harness.brokers.kafka import cds
from harness.brokers.kafka.common import READY_TIMEOUT, KafkaClusterBase, _cluster_id
from harness.brokers.kafka.dist import java_version, kafka_classpath, logging_flags
from harness.errors import ClusterError
from harness.runtimes.base import ProcessSpec
from harness.runtimes.local import _die_with_parent

__all__ = ["READY_TIMEOUT", "KafkaCluster", "_cluster_id"]

log = logging.getLogger("aftershock")


class KafkaCluster(KafkaClusterBase):
    def _plan_listeners(self, ids: range) -> dict[int, tuple[str, int]]:
        self.classpath = kafka_classpath(self.spec.version)
        self.jvm_extra = cds.jvm_flags(self.spec.version)
        self.log_flags = logging_flags(self.spec.version)
        return super()._plan_listeners(ids)

    def _node_spec(self, i: int) -> ProcessSpec:
        node_dir = self.dir / f"kafka-{i}"
        heap = self.spec.heap
        argv = [
            "java", *self.jvm_extra, f"-Xms{heap}", f"-Xmx{heap}", "-XX:+UseG1GC", "-XX:MaxGCPauseMillis=20",
            "-XX:ParallelGCThreads=1", "-XX:ConcGCThreads=1", "-XX:+ExitOnOutOfMemoryError",
            "-Djava.awt.headless=true", *self.log_flags,
            f"-Dkafka.logs.dir={node_dir / 'logs'}", "-cp", self.classpath,
            "kafka.Kafka", str(node_dir / "server.properties"),
        ]
        return ProcessSpec(name=f"kafka-{i}", argv=argv, log_path=node_dir / "node.log", node=i)

    def _prepare(self) -> None:
        self._format()

    def _format(self) -> None:
        """Every node's storage formatted with the cluster's id, the nodes' formats side by side."""
        procs = []
        for i in self.nodes:
            node_dir = self.dir / f"kafka-{i}"
            props = node_dir / "server.properties"
            argv = ["java", *self.jvm_extra, "-Xmx256m", "-XX:TieredStopAtLevel=1", *self.log_flags,
                    "-cp", self.classpath, "kafka.tools.StorageTool", "format", f"--cluster-id={self.cluster_id}",
                    f"--config={props}"]
            log.info("format kafka-%d: %s", i, " ".join(argv))
            out = open(node_dir / "format.log", "wb")
            # Dies with the orchestrator, and with the run when it is interrupted: the interrupt soak
            # found these JVMs outliving a SIGKILLed run, untagged, out of `cleanup`'s reach.
            procs.append((i, subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT,
                                              preexec_fn=_die_with_parent), out))
        try:
            for i, proc, out in procs:
                try:
                    code = proc.wait(timeout=90)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    code = -9
                out.close()
                if code != 0:
                    tail = (self.dir / f"kafka-{i}" / "format.log").read_text(errors="replace")[-2000:]
                    raise ClusterError(f"formatting kafka-{i} storage failed (exit {code}):\n{tail}")
        finally:
            for _, proc, out in procs:
                if proc.poll() is None:
                    proc.kill()
                    proc.wait(timeout=10)
                out.close()

    def _kafka_version(self) -> str:
        return self.spec.version

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "java": java_version()}
