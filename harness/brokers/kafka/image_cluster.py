"""A Kafka cluster of containers (node form "image"): each node an apache/kafka container (or its
stand-in) configured by KAFKA_* variables; the image's entrypoint formats its storage itself."""

from __future__ import annotations

from pathlib import Path

from harness.brokers.kafka.common import KafkaClusterBase
from harness.brokers.kafka.dist import kafka_version
from harness.brokers.kafka.image import DATA_DIR, kafka_contract
from harness.runtimes.base import ProcessSpec, RunsImages


class KafkaImageCluster(KafkaClusterBase):
    runtime: RunsImages

    def _data_dir(self, i: int) -> str | Path:
        return DATA_DIR   # the node's data dir on the host is mounted there

    def _node_spec(self, i: int) -> ProcessSpec:
        node_dir = self.dir / f"kafka-{i}"
        # The default release runs the image set's own (apache/kafka:<default>, aftershock/kafka:local).
        release = "" if self.spec.version == kafka_version() else self.spec.version
        contract = kafka_contract(self.node_properties(i), self.cluster_id, self.spec.heap, node_dir / "data",
                                  release)
        return ProcessSpec(name=f"kafka-{i}", argv=[], log_path=node_dir / "node.log", node=i, image=contract)

    def _write_properties(self) -> None:
        """The data directory mounted into the container is written by the image's non-root user
        (apache/kafka's appuser)."""
        super()._write_properties()
        for i in self.nodes:
            (self.dir / f"kafka-{i}" / "data").chmod(0o777)

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "image": self.runtime.image(1)}
