"""A RabbitMQ cluster someone else brought up (a compose project): running and clustered already,
its nodes' names and cookie its own; the run binds to them, declares its queues afresh and checks
the settings the scenario may still name; it never configures, starts or stops a node."""

from __future__ import annotations

import json

from harness.brokers.rabbitmq.common import READY_TIMEOUT, log
from harness.brokers.rabbitmq.image_cluster import RabbitContainers
from harness.brokers.rabbitmq.queues import queue_pattern
from harness.brokers.rabbitmq.spec import DEAD_LETTERING_SUFFIX
from harness.errors import ClusterError
from harness.runtimes.base import ProcessSpec, Published
from harness.wait import wait_until

AMQP_PORT = 5672   # where a compose-managed node listens inside its container


class RabbitAttached(RabbitContainers):
    runtime: Published

    def _plan_nodes(self, ids: range) -> None:
        self.node_names = {i: f"rabbit@{self.runtime.hostname(i)}" for i in ids}
        self.endpoints = {i: self.runtime.endpoint(i, AMQP_PORT) for i in ids}
        self.amqp_ports = {i: port for i, (_, port) in self.endpoints.items()}

    def _node_spec(self, i: int) -> ProcessSpec:
        return ProcessSpec(name=f"rabbitmq-{i}", argv=[], log_path=self.node_dir(i) / "node.log", node=i)

    def __enter__(self) -> RabbitAttached:
        """A compose-managed cluster: running and clustered already (its config lists its peers);
        the run's queue is declared afresh, an earlier run's messages deleted with the old one."""
        down = [node.name for node in self.nodes.values() if not node.alive]
        if down:
            raise ClusterError(f"compose service(s) {', '.join(down)} not running: `docker compose --profile"
                               " rabbitmq up -d` brings them up")
        wait_until(self._all_running, what=f"{self.spec.nodes} RabbitMQ nodes running in one cluster",
                   timeout=READY_TIMEOUT, interval=1.0, give_up_on=())
        self.ctl(1, "enable_feature_flag", "all")
        self.metadata_store = self._running_store()
        self._check_settings()
        self._delete_queue(self.spec.queue.name)
        self._clear_own_policies()   # an earlier run's dead-lettering would reach the queue declared now
        self._declare_queue()
        self._set_policies()   # none (refused on compose): the read-back proves none reaches the run's queues
        log.info("rabbitmq cluster (compose) ready: %s", self.routes.dial("producer"))
        return self

    def _check_settings(self) -> None:
        """What the scenario may still say of a compose-managed cluster, it must say truly: the
        verdict of a partition scenario depends on the partition handling the nodes run with."""
        wanted = self.spec.broker_config.get("cluster_partition_handling")
        if wanted is None:
            return
        running = "".join(self.ctl(1, "environment").stdout.split())
        if f"{{cluster_partition_handling,{wanted}}}" not in running:
            raise ClusterError(f"the scenario asks for cluster_partition_handling {wanted}, the compose cluster"
                               " runs with another: set it in targets/rabbitmq/compose.conf (or drop it here)")

    def __exit__(self, *exc: object) -> None:
        """The cluster is left running: it is not the run's to stop; the policies it set go."""
        try:
            self._clear_own_policies()
        except (ClusterError, ValueError) as exc:   # a cluster that no longer answers keeps them: said so
            log.warning("could not clear the run's dead-lettering policies: %s", exc)

    def _clear_own_policies(self) -> None:
        """The harness's dead-lettering policies on the run's main queue (set by add_destination or
        add_drop_record): they would outlive the run on a cluster that does."""
        pattern = queue_pattern(self.spec.queue.name)
        found = json.loads(self.ctl(1, "list_policies", "--formatter", "json", check=False).stdout or "[]")
        for policy in found:
            if policy.get("name", "").endswith(DEAD_LETTERING_SUFFIX) and policy.get("pattern") == pattern:
                self.ctl(1, "clear_policy", policy["name"], check=False)

    def _dead_letter_into(self, name: str, at_least_once: bool) -> None:
        self._delete_queue(name)   # an earlier run's dead letters or drops would count as this run's
        super()._dead_letter_into(name, at_least_once)

    def _image_name(self) -> str:
        return f"compose {self.runtime.image(1)}"
