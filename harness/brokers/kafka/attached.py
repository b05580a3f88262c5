"""A Kafka cluster someone else brought up (a compose project): the run binds to its nodes, dials
the listener each publishes, deletes an earlier run's topics and creates its own with the
scenario's topic-level settings; it never configures, starts or stops a broker."""

from __future__ import annotations

from typing import Any

from harness.brokers.kafka.common import KafkaClusterBase
from harness.errors import ClusterError
from harness.runtimes.base import ProcessSpec, Published


class KafkaAttached(KafkaClusterBase):
    runtime: Published

    def _plan_listeners(self, ids: range) -> dict[int, tuple[str, int]]:
        self.broker_ports, self.controller_ports = {}, {}
        return {i: self.runtime.endpoint(i) for i in ids}

    def _topic_settings(self) -> dict[str, Any] | None:
        """The scenario's settings apply to the run's topics (the model admits only topic-level keys here)."""
        return dict(self.spec.broker_config)

    def _broker_keys(self) -> list[str]:
        """None: the compose file configured the brokers; the scenario's settings are the topic's."""
        return []

    def _node_spec(self, i: int) -> ProcessSpec:
        return ProcessSpec(name=f"kafka-{i}", argv=[], log_path=self.dir / f"kafka-{i}" / "node.log", node=i)

    def _bring_up(self) -> None:
        """Running already: an earlier run's topics go, and the run's are created afresh when ready."""
        self._check_alive()
        self.admin.remove_earlier_topics([self.spec.topic.name])

    def __exit__(self, *exc: object) -> None:
        """The cluster is left running: it is not the run's to stop."""
        self.admin.close()

    def _check_alive(self) -> None:
        dead = [n.name for n in self.nodes.values() if not n.alive]
        if dead:
            raise ClusterError(f"compose service(s) {', '.join(dead)} not running: `docker compose --profile kafka"
                               " up -d` brings them up")

    def add_destination(self, name: str) -> None:
        self.admin.remove_earlier_topics([name])   # an earlier run's dead letters would count as this run's
        super().add_destination(name)

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "image": f"compose {self.runtime.image(1)}"}
