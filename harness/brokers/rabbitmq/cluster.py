"""RabbitMQ: N nodes of Debian's rabbitmq-server on one host, clustered with join_cluster.

Each node gets its own name, AMQP and distribution ports, data, log and config; all share one
Erlang cookie (in a per-run HOME) and one per-run epmd port, so runs never see each other.
The scripts in /usr/lib/rabbitmq/bin are run directly: the /usr/sbin wrappers switch user.
On the Docker runtime each node is instead a rabbitmq image's container (rabbit@rabbit-i, configured
through the image's contract: cookie variable, conf.d file), clustered the same way.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from harness.brokers.base import harness_last
from harness.brokers.rabbitmq.config import DEFAULTS, OWNED_PREFIXES, erlang_ip, node_of_pid, render_conf
from harness.brokers.rabbitmq.dist import RABBIT_BIN, rabbitmq_version
from harness.brokers.rabbitmq.queues import declare_dead_letter_queue, declare_queue
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.brokers.routes import ClientRoutes
from harness.errors import ClusterError, ScenarioError
from harness.paths import REPO
from harness.runtimes.base import ImageContract, NodeProcess, ProcessSpec, Runtime
from harness.runtimes.local import run_env
from harness.scenario.sections import ConsumerSpec
from harness.wait import wait_until

log = logging.getLogger("aftershock")

CONSUMER_APP = REPO / "targets" / "consumers" / "rabbitmq_consumer.py"
READY_TIMEOUT = 120.0
CTL_TIMEOUT = 60.0
CONF_D = "/etc/rabbitmq/conf.d/90-aftershock.conf"   # in an image: read after the image's own defaults
QUERY_TIMEOUT = 10.0
EPMD_STOP_TIMEOUT = 5.0   # a killed node's registration outlives it briefly


class RabbitCluster:
    kind = "rabbitmq"

    def __init__(self, spec: RabbitSpec, runtime: Runtime, run_dir: Path, groups: Sequence[str] = ("producer",),
                 proxied: bool = False) -> None:
        self.spec = spec
        self.runtime = runtime
        self.dir = run_dir / "nodes"
        self.home = self.dir / "home"
        ids = range(1, spec.nodes + 1)
        # A runtime that runs images (docker): each node is a rabbitmq image's rabbit@<hostname>,
        # with the image's own epmd and ports; only the client listener is the run's.
        self.in_image = runtime.runs_images
        self.in_container = self.in_image   # rabbitmqctl runs in the node's container, with its cookie
        self.cookie = secrets.token_hex(16).upper()
        self._plan_nodes(ids)
        self.routes = ClientRoutes({(g, i): self.endpoints[i] for g in groups for i in ids})
        self.nodes: dict[int, NodeProcess] = {i: runtime.process(self._node_spec(i)) for i in ids}

    def _plan_nodes(self, ids: range) -> None:
        """Each node's name, version and AMQP endpoint; on the host also its distribution ports and epmd."""
        runtime = self.runtime
        if self.in_image:
            self.version = ""   # the image's, told by versions() once the nodes exist
            self.node_names = {i: f"rabbit@rabbit-{i}" for i in ids}
            self.amqp_ports = {i: runtime.free_port() for i in ids}
            self.endpoints = {i: (runtime.address(i), self.amqp_ports[i]) for i in ids}
            return
        self.version = rabbitmq_version()
        tag = runtime.run_id.replace("-", "")
        # In namespaces each node is known by its own address (long names); locally by localhost.
        host = runtime.address if runtime.isolated else (lambda i: "localhost")
        self.node_names = {i: f"{tag}-{i}@{host(i)}" for i in ids}
        self.amqp_ports = {i: runtime.free_port() for i in ids}
        self.dist_ports = {i: runtime.free_port() for i in ids}
        self.epmd_port = runtime.free_port()
        self.endpoints = {i: (runtime.address(i), self.amqp_ports[i]) for i in ids}

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
        return harness_last(DEFAULTS, self.spec.broker_config, owned, "rabbitmq")

    def _env(self, i: int) -> dict[str, str]:
        """What the rabbitmq processes beside node i (the node, its epmd, rabbitmqctl) share."""
        if self.in_container:
            return {}  # rabbitmqctl runs in the node's container, with its cookie
        # epmd and every Erlang distribution listener (the node's, and rabbitmqctl's own) on loopback,
        # or in a namespace on the node's address and loopback: never on all interfaces.
        env = {"HOME": str(self.home), "ERL_EPMD_PORT": str(self.epmd_port),
               "RABBITMQ_USE_LONGNAME": "true" if self.runtime.isolated else "false",
               "ERL_EPMD_ADDRESS": f"{self.runtime.address(i)},127.0.0.1" if self.runtime.isolated else "127.0.0.1",
               "RABBITMQ_CTL_ERL_ARGS": f"-kernel inet_dist_use_interface {erlang_ip('127.0.0.1')}"}
        return env

    def _node_spec(self, i: int) -> ProcessSpec:
        node_dir = self.dir / f"rabbit-{i}"
        if self.in_image:
            return ProcessSpec(name=f"rabbit-{i}", argv=[], log_path=node_dir / "node.log", node=i,
                               image=self._contract(i))
        env = {
            **self._env(i),
            "RABBITMQ_NODENAME": self.node_names[i],
            "RABBITMQ_NODE_IP_ADDRESS": self.runtime.address(i),
            "RABBITMQ_NODE_PORT": str(self.amqp_ports[i]),
            "RABBITMQ_DIST_PORT": str(self.dist_ports[i]),
            "RABBITMQ_MNESIA_BASE": str(node_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": str(node_dir / "logs"),
            "RABBITMQ_CONFIG_FILE": str(node_dir / "rabbitmq"),  # without .conf, as the scripts expect
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(node_dir / "enabled_plugins"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(node_dir / "advanced.config"),
            "RABBITMQ_PID_FILE": str(node_dir / "rabbit.pid"),
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": self._erl_args()
            + f" -kernel inet_dist_use_interface {erlang_ip(self.runtime.address(i))}",
        }
        return ProcessSpec(name=f"rabbit-{i}", argv=[str(RABBIT_BIN / "rabbitmq-server")],
                           log_path=node_dir / "node.log", env=env, node=i)

    def _contract(self, i: int) -> ImageContract:
        """The official image's contract: the cookie in RABBITMQ_ERLANG_COOKIE, the node's config in
        conf.d, its name from its host name, the other nodes' names resolvable at their addresses."""
        return ImageContract(
            role="rabbitmq", hostname=f"rabbit-{i}",
            env={"RABBITMQ_ERLANG_COOKIE": self.cookie, "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": self._erl_args()},
            mounts={CONF_D: self.dir / f"rabbit-{i}" / "rabbitmq.conf"},
            hosts={f"rabbit-{j}": self.runtime.address(j) for j in range(1, self.spec.nodes + 1)})

    def _erl_args(self) -> str:
        args = f"-kernel net_ticktime {self.spec.net_ticktime}"
        if self.spec.dead_letter_confirm_timeout is not None:
            ms = int(self.spec.dead_letter_confirm_timeout * 1000)
            args += f" -rabbit dead_letter_worker_publisher_confirm_timeout {ms}"
        return args

    def _write_files(self) -> None:
        if self.in_image:
            for i in self.nodes:
                (self.dir / f"rabbit-{i}").mkdir(parents=True, exist_ok=True)
                (self.dir / f"rabbit-{i}" / "rabbitmq.conf").write_text(render_conf(self.node_conf(i)))
            return
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)
        for i in self.nodes:
            node_dir = self.dir / f"rabbit-{i}"
            (node_dir / "logs").mkdir(parents=True, exist_ok=True)
            (node_dir / "rabbitmq.conf").write_text(render_conf(self.node_conf(i)))
            (node_dir / "enabled_plugins").write_text("[].\n")
            # The bundled syslog application opens a UDP socket at boot, on all interfaces unless told.
            (node_dir / "advanced.config").write_text(
                f"[{{syslog, [{{protocol, {{rfc3164, udp, [{{ip, {erlang_ip(self.runtime.address(i))}}}]}}}}]}}].\n")

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> RabbitCluster:
        try:
            self._write_files()
            for node in self.nodes.values():
                node.start()
            for i in self.nodes:
                self._await_startup(i)
            first = self.node_names[1]
            for i in list(self.nodes)[1:]:
                self.ctl(i, "stop_app")
                self.ctl(i, "join_cluster", first)
                self.ctl(i, "start_app")
            self.ctl(1, "enable_feature_flag", "all")  # quorum and stream queues need them
            wait_until(self._all_running, what=f"{self.spec.nodes} RabbitMQ nodes running in one cluster",
                       timeout=READY_TIMEOUT, interval=1.0, logs=self._logs())
            self._declare_queue()
            log.info("rabbitmq cluster ready: %s", self.routes.dial("producer"))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self

    def _delete_queue(self, name: str) -> None:
        self.ctl(1, "delete_queue", name, check=False)

    def __exit__(self, *exc: object) -> None:
        for node in self.nodes.values():
            node.request_stop()
        for node in self.nodes.values():
            node.terminate(timeout=30)
        if not self.in_image:   # an image's epmd lives and dies with its container
            self._stop_epmd()

    def _stop_epmd(self) -> None:
        """epmd outlives the nodes that started it; this run's epmd listens on this run's port
        (one per namespace when nodes are isolated)."""
        for i in list(self.nodes) if self.runtime.isolated else [1]:
            self._stop_epmd_beside(i)

    def _stop_epmd_beside(self, i: int) -> None:
        """epmd refuses `-kill` while a node is still registered, as one just SIGKILLed is for a
        moment (an epmd outlived an interrupted start so): the refusal is retried for a few seconds."""
        argv = self.runtime.exec_prefix(i, self._env(i)) + ["epmd", "-port", str(self.epmd_port), "-kill"]

        def killed() -> bool:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=10, env={**os.environ, **self._env(i)})
            return "living nodes" not in done.stdout + done.stderr
        try:
            wait_until(killed, what=f"epmd on port {self.epmd_port} to stop", timeout=EPMD_STOP_TIMEOUT,
                       interval=0.25, retry_on=(subprocess.TimeoutExpired,))
        except (OSError, subprocess.TimeoutExpired, ClusterError) as exc:
            log.warning("could not stop epmd on port %d: %s", self.epmd_port, exc)

    def _logs(self) -> list[Path]:
        return [self.dir / f"rabbit-{i}" / "node.log" for i in self.nodes]

    def _await_startup(self, i: int) -> None:
        def started() -> bool:
            if not self.nodes[i].alive:
                raise ClusterError(f"rabbit-{i} exited during start-up: see {self.dir}/rabbit-{i}/node.log")
            return self.ctl(i, "await_startup", "--timeout", "5", check=False).returncode == 0

        wait_until(started, what=f"rabbit-{i} to start", timeout=READY_TIMEOUT, interval=1.0, logs=self._logs())

    def ctl(self, i: int, *args: str, check: bool = True,
            timeout: float = CTL_TIMEOUT) -> subprocess.CompletedProcess[str]:
        """rabbitmqctl against node i, as this run (its cookie, its epmd)."""
        in_container = self.in_container
        ctl = "rabbitmqctl" if in_container else str(RABBIT_BIN / "rabbitmqctl")  # the image's own, on its PATH
        argv = [*self.runtime.exec_prefix(i, self._env(i)), ctl, "-n", self.node_names[i], *args]
        log.info("run %s", " ".join(argv))
        env = {**os.environ, **self._env(i), **run_env(self.runtime.run_id)}
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=env)
        except subprocess.TimeoutExpired:
            raise ClusterError(f"rabbitmqctl {' '.join(args)} on rabbit-{i} did not answer in {timeout:g}s") from None
        if check and done.returncode != 0:
            raise ClusterError(f"rabbitmqctl {' '.join(args)} on rabbit-{i} failed: {done.stderr.strip()[-1000:]}")
        if in_container:
            # The image's RABBITMQ_ERLANG_COOKIE reaches `docker exec` too, and rabbitmqctl warns about
            # it on stdout, ahead of the JSON or table it was asked for.
            done.stdout = "".join(line for line in done.stdout.splitlines(keepends=True)
                                  if "RABBITMQ_ERLANG_COOKIE" not in line)
        return done

    def _all_running(self) -> bool:
        status = json.loads(self.ctl(1, "cluster_status", "--formatter", "json").stdout)
        return sorted(status.get("running_nodes", [])) == sorted(self.node_names.values())

    def _declare_queue(self) -> None:
        declare_queue(self.endpoints[1], self.spec.queue)

    def add_destination(self, name: str) -> None:
        """A dead-letter queue, and the policy that makes the main queue dead-letter into it."""
        pattern, definition = declare_dead_letter_queue(self.endpoints[1], self.spec.queue, name)
        self.ctl(1, "set_policy", "--apply-to", "queues", f"{name}-dead-lettering", pattern, json.dumps(definition))
        log.info("dead-lettering %s into %s through %s: %s", self.spec.queue.name, name,
                 definition["dead-letter-exchange"], definition)

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
                yield i, self.ctl(i, *args, "--timeout", "5", timeout=QUERY_TIMEOUT).stdout
            except ClusterError as exc:
                problems.append(str(exc))
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

    def controller(self) -> int:
        raise ClusterError("RabbitMQ has no controller: use node(i) or leader(queue)")

    def load_config(self) -> dict[str, Any]:
        return {"kind": "rabbitmq", "brokers": self.routes.dial("producer"), "topic": self.spec.queue.name,
                "queue_type": self.spec.queue.type}

    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: ConsumerSpec) -> ProcessSpec:
        argv = [sys.executable, str(CONSUMER_APP), "--brokers", ",".join(self.routes.dial(f"consumer{instance}")),
                "--queue", self.spec.queue.name, "--queue-type", self.spec.queue.type,
                "--instance", str(instance), "--ledger", str(ledger), "--ack", consumer.ack,
                "--prefetch", str(consumer.prefetch),
                "--durable", str(self.spec.queue.durable).lower()]
        return ProcessSpec(name=f"consumer-{instance}", argv=argv, log_path=log_path)

    def versions(self) -> dict[str, str]:
        import pika

        version = f"image {self.runtime.image(1)}" if self.in_image else self.version  # type: ignore[attr-defined]
        return {"rabbitmq": version, "pika": pika.__version__}
