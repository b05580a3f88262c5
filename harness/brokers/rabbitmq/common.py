"""What every form of a RabbitMQ cluster shares: N nodes clustered with join_cluster, each node's
config, start-up and readiness, rabbitmqctl and its queries, the queue and its dead-lettering, the
consumer's wiring. A form (cluster.py: Debian's rabbitmq-server as local processes; image_cluster.py:
the image's containers; attached.py: a compose project's) says how a node is named and described,
what is written before it starts, where rabbitmqctl runs and what is left to stop after the nodes.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any, Self

from harness.brokers.base import harness_last
from harness.brokers.rabbitmq.config import DEFAULTS, OWNED_PREFIXES, node_of_pid
from harness.brokers.rabbitmq.dist import removed_setting
from harness.brokers.rabbitmq.limits import discard_limits, strongest
from harness.brokers.rabbitmq.policies import dead_lettering, expected, queue_settings, set_policy_args
from harness.brokers.rabbitmq.queues import declare_dead_letter_queue, declare_queue, queue_arguments
from harness.brokers.rabbitmq.spec import CONSUMER_HEARTBEAT, PolicySpec, RabbitSpec
from harness.brokers.routes import ClientRoutes, Via
from harness.errors import ClusterError, ScenarioError
from harness.observer import View
from harness.paths import REPO
from harness.runtimes.base import NodeProcess, ProcessSpec, Runtime
from harness.runtimes.local import run_env
from harness.scenario.sections import ConsumerSpec
from harness.wait import wait_until

log = logging.getLogger("aftershock")

CONSUMER_APP = REPO / "targets" / "consumers" / "rabbitmq_consumer.py"
READY_TIMEOUT = 120.0
CTL_TIMEOUT = 60.0
QUERY_TIMEOUT = 10.0
POLICY_TIMEOUT = 15.0


class RabbitClusterBase:
    kind = "rabbitmq"
    node_names: dict[int, str]                 # planned by the form (_plan_nodes)
    amqp_ports: dict[int, int]
    endpoints: dict[int, tuple[str, int]]
    metadata_store = "unknown"                 # read back from the nodes once they run

    def __init__(self, spec: RabbitSpec, runtime: Runtime, run_dir: Path, groups: Sequence[str] = ("producer",),
                 via: Via | None = None) -> None:
        self.spec = spec
        self.runtime = runtime
        self.dir = run_dir / "nodes"
        self.home = self.dir / "home"
        ids = range(1, spec.nodes + 1)
        self.brokers = list(ids)
        self.cookie = secrets.token_hex(16).upper()
        self._plan_nodes(ids)
        self.routes = ClientRoutes({(g, i): self.endpoints[i] for g in groups for i in ids}, via)
        self.nodes: dict[int, NodeProcess] = {i: runtime.process(self._node_spec(i)) for i in ids}

    def _plan_nodes(self, ids: range) -> None:
        """Each node's name (node_names), version and AMQP endpoint (amqp_ports, endpoints)."""
        raise NotImplementedError

    # -- configuration -------------------------------------------------------------------
    def node_conf(self, i: int) -> dict[str, Any]:
        owned: dict[str, Any] = {   # where the node listens, who may log in from where, where it logs
            "listeners.tcp.default": f"{self.runtime.address(i)}:{self.amqp_ports[i]}",
            "loopback_users": "none",
            "log.console": True,
            "log.file": False,
        }
        extra = sorted(k for k in self.spec.broker_config if k.startswith(OWNED_PREFIXES) and k not in owned)
        if extra:
            raise ScenarioError(f"rabbitmq broker_config {extra[0]}: the harness owns the nodes' listeners"
                                " (each node listens on its own loopback or namespace address): remove it")
        defaults = {k: v for k, v in DEFAULTS.items() if removed_setting(self.spec.release, k) is None}
        return harness_last(defaults, self.spec.broker_config, owned, "rabbitmq")

    def _env(self, i: int) -> dict[str, str]:
        """What the rabbitmq processes beside node i (the node, rabbitmqctl) share."""
        return {}

    def _node_spec(self, i: int) -> ProcessSpec:
        """Node i as its form runs it."""
        raise NotImplementedError

    def _erl_args(self) -> str:
        args = f"-kernel net_ticktime {self.spec.net_ticktime}"
        if self.spec.dead_letter_confirm_timeout is not None:
            ms = int(self.spec.dead_letter_confirm_timeout * 1000)
            args += f" -rabbit dead_letter_worker_publisher_confirm_timeout {ms}"
        return args

    def _write_files(self) -> None:
        """What the nodes read at start-up, written before they start."""
        raise NotImplementedError

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> Self:
        try:
            self._write_files()
            for node in self.nodes.values():
                node.start()
            for i in self.nodes:
                self._await_startup(i)
            for i in list(self.nodes)[1:]:
                self._join_first(i)
            self.ctl(1, "enable_feature_flag", "all")  # quorum and stream queues need them
            self._choose_store()
            wait_until(self._all_running, what=f"{self.spec.nodes} RabbitMQ nodes running in one cluster",
                       timeout=READY_TIMEOUT, interval=1.0, logs=self._logs())
            self._declare_queue()
            self._set_policies()
            log.info("rabbitmq cluster ready: %s", self.routes.dial("producer"))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _join_first(self, i: int) -> None:
        """Node i into node 1's cluster, one node at a time: two nodes joining at once failed to start
        (Mnesia's `Failed to merge schema: combine_error` on start_app, seen once in 12 runs on 3.10)."""
        self.ctl(i, "stop_app")
        self.ctl(i, "join_cluster", self.node_names[1])
        self.ctl(i, "start_app")

    def _choose_store(self) -> None:
        """Khepri where the scenario asks for it and the release's default is Mnesia (4.0: the
        khepri_db flag, which `all` leaves off, migrates the metadata once enabled); then the store the
        nodes really run with is read back: a store that did not take is an error, never a silent default."""
        wanted = self.spec.store
        if wanted == "khepri" and self.spec.release.stores[0] != "khepri":
            self.ctl(1, "enable_feature_flag", "--opt-in", "khepri_db")   # 4.0 asks for the opt-in
        self.metadata_store = self._running_store()
        if self.metadata_store != wanted:
            raise ClusterError(f"the nodes keep their metadata in {self.metadata_store}; the scenario asks for"
                               f" {wanted}")
        log.info("metadata store: %s", self.metadata_store)

    def _running_store(self) -> str:
        flags = json.loads(self.ctl(1, "list_feature_flags", "name", "state", "--formatter", "json").stdout)
        khepri = next((flag for flag in flags if flag.get("name") == "khepri_db"), None)
        return "khepri" if khepri is not None and khepri.get("state") == "enabled" else "mnesia"

    def _delete_queue(self, name: str) -> None:
        self.ctl(1, "delete_queue", name, check=False)

    def __exit__(self, *exc: object) -> None:
        for node in self.nodes.values():
            node.request_stop()
        for node in self.nodes.values():
            node.terminate(timeout=30)
        self._after_stop()

    def _after_stop(self) -> None:
        """What outlives the nodes and is the run's to stop."""

    def node_dir(self, i: int) -> Path:
        """Node i's own directory: its config, logs, data and whatever it dumps when it dies."""
        return self.dir / f"rabbit-{i}"

    def _logs(self) -> list[Path]:
        return [self.node_dir(i) / "node.log" for i in self.nodes]

    def _await_startup(self, i: int) -> None:
        def started() -> bool:
            if not self.nodes[i].alive:
                raise ClusterError(f"rabbit-{i} exited during start-up: see {self.dir}/rabbit-{i}/node.log")
            return self.ctl(i, "await_startup", "--timeout", "5", check=False).returncode == 0

        wait_until(started, what=f"rabbit-{i} to start", timeout=READY_TIMEOUT, interval=1.0, logs=self._logs())

    def ctl(self, i: int, *args: str, check: bool = True,
            timeout: float = CTL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """rabbitmqctl against node i, as this run (its cookie, its epmd)."""
        argv = [*self.runtime.exec_prefix(i, self._env(i)), *self._ctl_command(i), "-n", self.node_names[i], *args]
        log.info("run %s", " ".join(argv))
        env = {**os.environ, **self._env(i), **run_env(self.runtime.run_id)}
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"rabbitmqctl {' '.join(args)} on rabbit-{i} did not answer in {timeout:g}s") from None
        if check and done.returncode != 0:
            raise ClusterError(f"rabbitmqctl {' '.join(args)} on rabbit-{i} failed: {done.stderr.strip()[-1000:]}")
        done.stdout = self._ctl_output(done.stdout)
        return done

    def _ctl_command(self, i: int) -> list[str]:
        """rabbitmqctl, as a command beside node i runs it."""
        raise NotImplementedError

    def _ctl_output(self, stdout: str) -> str:
        """What rabbitmqctl answered, without what the form adds to it."""
        return stdout

    def _all_running(self) -> bool:
        status = json.loads(self.ctl(1, "cluster_status", "--formatter", "json").stdout)
        return sorted(status.get("running_nodes", [])) == sorted(self.node_names.values())

    def _declare_queue(self) -> None:
        declare_queue(self.endpoints[1], self.spec.queue)

    def _set_policies(self) -> None:
        """The scenario's policies, before any load; `policies` notes which each run queue should run
        under, for the read-back."""
        for policy in self.spec.policies:
            self.ctl(1, *set_policy_args(policy))
        main = self.spec.queue
        self.policies: dict[str, PolicySpec | None] = {main.name: strongest(self.spec.policies, main.name, main.type)}

    def add_destination(self, name: str) -> None:
        """A dead-letter queue, and the policy that makes the main queue dead-letter into it."""
        self._dead_letter_into(name, at_least_once=True)

    def add_drop_record(self, consumer: ConsumerSpec) -> str | None:
        """Where the main queue's limits (length with drop-head, TTL, delivery limit) put what they
        discard, when the scenario sets any and no dead-letter queue takes it already: a queue the
        harness reads, so the checker counts what was dropped by design apart from what was lost."""
        if consumer.dead_letter is not None or not discard_limits(self.spec, consumer.requeue):
            return None
        name = f"{self.spec.queue.name}.dropped"
        self._dead_letter_into(name, at_least_once=False)
        return name

    def _dead_letter_into(self, name: str, at_least_once: bool) -> None:
        pattern, definition = declare_dead_letter_queue(self.endpoints[1], self.spec.queue, name, at_least_once)
        policy = dead_lettering(self.spec, name, pattern, definition)
        self.ctl(1, *set_policy_args(policy))
        self.policies |= {self.spec.queue.name: policy, name: strongest(self.spec.policies, name, "quorum")}
        log.info("dead-lettering %s into %s through %s: %s", self.spec.queue.name, name,
                 definition["dead-letter-exchange"], policy.definition)

    def dead_letter_reader_spec(self, name: str, ledger: Path, log_path: Path) -> ProcessSpec:
        """The harness's own reader of the dead-letter queue, straight to the nodes (never proxied)."""
        brokers = ",".join(f"{host}:{port}" for host, port in self.endpoints.values())
        argv = [sys.executable, str(CONSUMER_APP), "--brokers", brokers, "--queue", name, "--queue-type", "quorum",
                "--instance", "0", "--ledger", str(ledger), "--dlq-reader"]
        return ProcessSpec(name="dlq-reader", argv=argv, log_path=log_path)

    # -- queries ---------------------------------------------------------------------------
    def _answers(self, *args: str) -> Iterator[tuple[int, str]]:
        """rabbitmqctl output from each live node that answers quickly, in turn: a node paused by
        pause_minority, or still rejoining after a partition or a restart, can hang or know little."""
        problems = []
        for i, node in self.nodes.items():
            if not node.alive or node.paused:
                continue
            try:
                out = self.ctl(i, *args, "--timeout", "5", timeout=QUERY_TIMEOUT).stdout
            except ClusterError as exc:
                problems.append(str(exc))
                continue
            if "{:badrpc," in out:   # some queues' rows never came back: a partial listing is no answer
                problems.append(f"rabbit-{i} answered in part: {out.strip().splitlines()[-1][:300]}")
                continue
            yield i, out
        if problems:
            log.info("rabbitmqctl %s: %s", " ".join(args), "; ".join(problems))

    def leader_of(self, *args: str) -> int:
        """The node of the quorum/stream queue's leader, or of a classic queue's home, as the first
        node that knows the queue says.

        Tabular output, not JSON: the JSON formatter prints a remote pid without its node name.
        """
        queue = args[0]
        asked = []
        for i, out in self._answers("list_queues", "name", "leader", "pid", "--no-table-headers", "--quiet"):
            asked.append(f"rabbit-{i}")
            for line in out.splitlines():
                name, leader, pid = (line.split("\t") + ["", "", ""])[:3]
                if name == queue:
                    owner = leader or node_of_pid(pid)
                    for j, node_name in self.node_names.items():
                        if node_name == owner:
                            return j
                    raise ClusterError(f"queue {queue} is on unknown node {owner!r}")
        if not asked:
            raise ClusterError("no RabbitMQ node answered")
        raise ClusterError(f"queue {queue} not found on {', '.join(asked)}")

    def assignable_partitions(self) -> int | None:
        return None

    def group_protocol(self, group: str) -> str | None:
        return None

    def groups(self) -> dict[str, Any]:
        return {}

    def backlog(self) -> int | None:
        """Messages the queues still hold, ready or delivered and not yet acknowledged, as the first
        node that answers counts them; None when that cannot be told (a stream keeps what it was
        sent whatever is read, or a queue without a leader has no count).

        Consumers ledger before they acknowledge, so 0 means every message is in a ledger.
        """
        for _, out in self._answers("list_queues", "name", "type", "messages", "--no-table-headers", "--quiet"):
            total = 0
            for line in out.splitlines():
                _, kind, messages = (line.split("\t") + ["", "", ""])[:3]
                if kind == "stream" or not messages.strip().isdigit():
                    return None
                total += int(messages)
            return total
        return None

    def positions(self) -> list[dict[str, Any]]:
        """Queues have no log positions: only their count (backlog) tells what they still hold."""
        return []

    def replicas(self) -> dict[str, Any]:
        """Each queue's type, leader, members and the members online, as the first node that answers
        says (a classic queue has a home node and no members)."""
        for _, out in self._answers("list_queues", "name", "type", "leader", "members", "online",
                                    "--formatter", "json"):
            return {q["name"]: {key: q.get(key) for key in ("type", "leader", "members", "online")}
                    for q in json.loads(out)}
        raise ClusterError("no RabbitMQ node answered")

    def observation(self) -> AbstractContextManager[View] | None:
        """None here: the forms whose nodes the harness can reach over Erlang's distribution (local
        processes, rooted ones) have a view (observation.py); on containers a run cannot tell yet
        whether a fault bit (a rabbitmqctl per look would start an Erlang VM each second)."""
        return None

    def controller(self) -> int:
        raise ClusterError("RabbitMQ has no controller: use node(i) or leader(queue)")

    def load_config(self) -> dict[str, Any]:
        return {"kind": "rabbitmq", "brokers": self.routes.dial("producer"), "topic": self.spec.queue.name,
                "queue_type": self.spec.queue.type}

    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: ConsumerSpec) -> ProcessSpec:
        argv = [sys.executable, str(CONSUMER_APP), "--brokers", ",".join(self.routes.dial(f"consumer{instance}")),
                "--queue", self.spec.queue.name, "--queue-type", self.spec.queue.type,
                "--instance", str(instance), "--ledger", str(ledger), "--ack", consumer.ack,
                "--prefetch", str(consumer.prefetch), "--heartbeat", str(CONSUMER_HEARTBEAT),
                "--durable", str(self.spec.queue.durable).lower(),
                "--queue-arguments", json.dumps(queue_arguments(self.spec.queue)),
                *(["--requeue"] if consumer.requeue else [])]
        return ProcessSpec(name=f"consumer-{instance}", argv=argv, log_path=log_path)

    def settings(self) -> dict[str, Any]:
        """Each run queue's arguments and the policy it runs under, as the nodes report them once
        the run's queues and policies are in place; one that did not take stops the run (a verdict on
        a configuration the cluster does not run would prove nothing). rabbitmq.conf's keys are not
        read back: they have no per-key query like Kafka's DescribeConfigs."""
        wanted = expected(self.policies)
        last: dict[str, Any] = {}

        def took() -> dict[str, Any] | None:
            last.clear()
            last.update(self._queue_settings())
            running = {name: (q["policy"], q["effective_policy"]) for name, q in last.items() if name in wanted}
            return dict(last) if running == wanted else None

        try:
            found = wait_until(took, what="the run's queues to run under their policies", timeout=POLICY_TIMEOUT,
                               interval=0.5, give_up_on=())
        except ClusterError:
            raise ClusterError(f"queue settings did not take: asked for (policy, definition) {wanted}, the nodes"
                               f" report {({n: last.get(n) for n in wanted})}") from None
        return {"queues": found}

    def _queue_settings(self) -> dict[str, Any]:
        policies = next((out for _, out in self._answers("list_policies", "--formatter", "json")), None)
        queues = next((out for _, out in self._answers("list_queues", "name", "arguments", "policy", "--formatter",
                                                        "json")), None)
        if policies is None or queues is None:
            raise ClusterError("no RabbitMQ node answered")
        return queue_settings(policies, queues)

    def versions(self) -> dict[str, str]:
        import pika

        return {"rabbitmq": self._rabbit_version(), "pika": pika.__version__,
                "metadata_store": self.metadata_store}

    def _rabbit_version(self) -> str:
        raise NotImplementedError

