"""A RabbitMQ cluster of local processes (node form "process"): N nodes of Debian's rabbitmq-server.

Each node gets its own name, AMQP and distribution ports, data, log and config; all share one
Erlang cookie (in a per-run HOME) and one per-run epmd port, so runs never see each other.
The scripts in /usr/lib/rabbitmq/bin are run directly: the /usr/sbin wrappers switch user.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
from contextlib import AbstractContextManager
from pathlib import Path

from harness.brokers.rabbitmq.common import READY_TIMEOUT, RabbitClusterBase
from harness.brokers.rabbitmq.config import erlang_ip, render_conf, render_inetrc
from harness.brokers.rabbitmq.dist import RABBIT_BIN, erlang_version, rabbitmq_version
from harness.brokers.rabbitmq.observation import rabbit_view
from harness.errors import ClusterError
from harness.observer import View
from harness.runtimes.base import ProcessSpec
from harness.wait import wait_until

__all__ = ["READY_TIMEOUT", "RabbitCluster"]

log = logging.getLogger("aftershock")

EPMD_STOP_TIMEOUT = 5.0   # a killed node's registration outlives it briefly


class RabbitCluster(RabbitClusterBase):
    def _plan_nodes(self, ids: range) -> None:
        """Each node's name, version and AMQP endpoint, its distribution port, and the run's epmd."""
        runtime = self.runtime
        self.version = self._release_version()
        self.tag = runtime.run_id.replace("-", "")   # node names and the namespaces' resolver domains
        # In namespaces each node is known by its own address (long names); locally by localhost.
        host = runtime.address if runtime.isolated else (lambda i: "localhost")
        self.node_names = {i: f"{self.tag}-{i}@{host(i)}" for i in ids}
        self.amqp_ports = {i: runtime.free_port() for i in ids}
        self.dist_ports = {i: runtime.free_port() for i in ids}
        self.epmd_port = runtime.free_port()
        self.endpoints = {i: (runtime.address(i), self.amqp_ports[i]) for i in ids}

    def _env(self, i: int) -> dict[str, str]:
        """What the rabbitmq processes beside node i (the node, its epmd, rabbitmqctl) share:
        epmd and every Erlang distribution listener on the node's address (loopback, or its namespace
        address), never on all interfaces. ERL_ZFLAGS reaches every Erlang VM started beside the node:
        the node, rabbitmqctl, and the short-lived `erl -sname` the node spawns at boot to make sure
        epmd runs (rabbit_nodes_common:ensure_epmd), which listens on 0.0.0.0 otherwise."""
        return {"HOME": self._inside(self.home), "ERL_EPMD_PORT": str(self.epmd_port),
                "RABBITMQ_USE_LONGNAME": "true" if self.runtime.isolated else "false",
                "ERL_EPMD_ADDRESS": f"{self.runtime.address(i)},127.0.0.1" if self.runtime.isolated else "127.0.0.1",
                "ERL_ZFLAGS": f"-kernel inet_dist_use_interface {erlang_ip(self.runtime.address(i))}",
                # A VM that dies writes its crash dump beside its node, never into the user's directory.
                "ERL_CRASH_DUMP": self._inside(self.node_dir(i) / "erl_crash.dump"),
                **({"ERL_INETRC": self._inside(self._inetrc(i))} if self.runtime.isolated else {})}

    def _inetrc(self, i: int) -> Path:
        return self.node_dir(i) / "erl_inetrc"

    def _node_spec(self, i: int) -> ProcessSpec:
        node_dir = self.node_dir(i)
        env = {
            **self._env(i),
            "RABBITMQ_NODENAME": self.node_names[i],
            "RABBITMQ_NODE_IP_ADDRESS": self.runtime.address(i),
            "RABBITMQ_NODE_PORT": str(self.amqp_ports[i]),
            "RABBITMQ_DIST_PORT": str(self.dist_ports[i]),
            "RABBITMQ_MNESIA_BASE": self._inside(node_dir / "mnesia"),
            "RABBITMQ_LOG_BASE": self._inside(node_dir / "logs"),
            "RABBITMQ_CONFIG_FILE": self._inside(node_dir / "rabbitmq"),  # without .conf, as the scripts expect
            "RABBITMQ_ENABLED_PLUGINS_FILE": self._inside(node_dir / "enabled_plugins"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": self._inside(node_dir / "advanced.config"),
            "RABBITMQ_PID_FILE": self._inside(node_dir / "rabbit.pid"),
            # Mnesia dumps its core into the working directory unless told (seen: a failed join's).
            "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": self._erl_args() + f' -mnesia core_dir "{self._inside(node_dir)}"',
        }
        return ProcessSpec(name=f"rabbit-{i}", argv=self._command(i, str(RABBIT_BIN / "rabbitmq-server")),
                           log_path=node_dir / "node.log", env=env, node=i)

    def _release_version(self) -> str:
        return rabbitmq_version()

    def _inside(self, path: Path) -> str:
        """A path of the run's as the node sees it (the same on the host)."""
        return str(path)

    def _command(self, i: int, program: str) -> list[str]:
        """How a RabbitMQ program runs beside node i (the node itself, rabbitmqctl)."""
        return [program]

    def _write_files(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(self.cookie)
            cookie.chmod(0o400)
        for i in self.nodes:
            node_dir = self.node_dir(i)
            (node_dir / "logs").mkdir(parents=True, exist_ok=True)
            (node_dir / "rabbitmq.conf").write_text(render_conf(self.node_conf(i)))
            (node_dir / "enabled_plugins").write_text("[].\n")
            if self.runtime.isolated:
                self._inetrc(i).write_text(render_inetrc(i, self.tag, socket.gethostname().split(".")[0],
                                                         {j: self.runtime.address(j) for j in self.nodes}))
            # The bundled syslog application opens a UDP socket at boot, on all interfaces unless told.
            (node_dir / "advanced.config").write_text(
                f"[{{syslog, [{{protocol, {{rfc3164, udp, [{{ip, {erlang_ip(self.runtime.address(i))}}}]}}}}]}}].\n")

    def _ctl_command(self, i: int) -> list[str]:
        return self._command(i, str(RABBIT_BIN / "rabbitmqctl"))

    def _after_stop(self) -> None:
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

    def _rabbit_version(self) -> str:
        return self.version

    def observation(self) -> AbstractContextManager[View] | None:
        """The nodes' own view, from a hidden Erlang node beside them (observation.py)."""
        escript = shutil.which("escript")
        if escript is None:
            log.warning("escript not found (Erlang's): this run cannot tell whether its faults bit")
            return None
        return rabbit_view(escript, self.node_names, {i: node.name for i, node in self.nodes.items()}, self.home,
                           self.epmd_port, self.runtime.isolated, self.runtime.run_id, self.dir / "observer.log")

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "erlang": erlang_version()}
