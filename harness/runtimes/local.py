"""Local processes: own session, run-id in the environment, killed with their parent."""

from __future__ import annotations

import ctypes
import logging
import os
import random
import signal
import socket
import subprocess
import time
from dataclasses import replace
from typing import Any

from harness.ownership import OWNER_ENV, this_owner
from harness.runtimes.base import ProcessSpec

log = logging.getLogger("aftershock")

RUN_ID_ENV = "AFTERSHOCK_RUN_ID"
LISTEN_PORTS_LOW = 20000   # above the registered services people commonly run (databases, brokers)


def listen_port_range(path: str = "/proc/sys/net/ipv4/ip_local_port_range") -> tuple[int, int]:
    """[low, high) of the ports the run's listeners take: outside the kernel's ephemeral range, where
    outgoing connections pick their local ports (below it where there is room, else above it)."""
    try:
        with open(path) as f:
            first, last = (int(part) for part in f.read().split()[:2])
    except (OSError, ValueError):
        first, last = 32768, 60999   # Linux's default
    if first - LISTEN_PORTS_LOW >= 1000:
        return LISTEN_PORTS_LOW, first
    if 65535 - last >= 1000:
        return last + 1, 65536
    raise RuntimeError(f"the ephemeral port range {first}-{last} ({path}) leaves fewer than 1000 ports"
                       f" outside it for the run's listeners: narrow it (sysctl net.ipv4.ip_local_port_range)")


def run_env(run_id: str) -> dict[str, str]:
    """What every process of a run carries in its environment: its run, and who owns the run."""
    return {RUN_ID_ENV: run_id, OWNER_ENV: this_owner()}
_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """Runs in the child before exec: if the orchestrator dies (even by SIGKILL), so does the child."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except OSError:
        pass


class LocalProcess:
    """One restartable process. Its process group is signalled so children never outlive it.

    Must be started from the orchestrator's main thread: PDEATHSIG follows the *thread* that forked.
    """

    def __init__(self, spec: ProcessSpec, run_id: str) -> None:
        self.spec = spec
        self.name = spec.name
        self._run_id = run_id
        self._popen: subprocess.Popen[bytes] | None = None
        self._paused = False
        self._stop_requested = False

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    @property
    def alive(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def paused(self) -> bool:
        return self._paused

    @property
    def returncode(self) -> int | None:
        return self._popen.poll() if self._popen else None

    @property
    def stopped_on_purpose(self) -> bool:
        """Killed or asked to stop since its last start: its exit is nobody's surprise."""
        return self._stop_requested

    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running (pid {self.pid})")
        env = {**os.environ, **self.spec.env, **run_env(self._run_id)}
        self.spec.log_path.parent.mkdir(parents=True, exist_ok=True)
        log.info("start %s: %s", self.name, " ".join(self.spec.argv))
        with open(self.spec.log_path, "ab") as out:
            out.write(f"--- aftershock: start {time.strftime('%H:%M:%S')} ---\n".encode())
            out.flush()
            self._popen = subprocess.Popen(
                self.spec.argv, env=env, cwd=self.spec.cwd, stdout=out, stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=_die_with_parent,
            )
        self._paused = False
        self._stop_requested = False

    def _signal(self, sig: signal.Signals) -> None:
        if self._popen is None or self._popen.poll() is not None:
            return
        log.info("signal %s %s (pid %d)", sig.name, self.name, self._popen.pid)
        try:
            os.killpg(self._popen.pid, sig)
        except ProcessLookupError:
            pass

    def kill(self) -> None:
        self._stop_requested = True
        self._signal(signal.SIGKILL)
        self._reap(10)

    def pause(self) -> None:
        self._signal(signal.SIGSTOP)
        self._paused = True

    def resume(self) -> None:
        self._signal(signal.SIGCONT)
        self._paused = False

    def request_stop(self) -> None:
        """SIGTERM without waiting (after SIGCONT: a stopped process cannot handle it)."""
        if self._paused:
            self.resume()
        if not self._stop_requested:
            self._signal(signal.SIGTERM)
            self._stop_requested = True

    def terminate(self, timeout: float = 20.0) -> None:
        """request_stop, then SIGKILL after timeout."""
        if not self.alive:
            return
        self.request_stop()
        if not self._reap(timeout):
            log.warning("%s did not stop within %.0fs of SIGTERM; killing it", self.name, timeout)
            self.kill()

    def wait(self, timeout: float) -> bool:
        return self._reap(timeout)

    def _reap(self, timeout: float) -> bool:
        if self._popen is None:
            return True
        try:
            self._popen.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        # The leader is gone; make sure nothing else in its group survives it.
        try:
            os.killpg(self._popen.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        return True

    def __enter__(self) -> LocalProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.terminate()


class LocalRuntime:
    """Processes on this machine, reachable on loopback; with a NamespaceNetwork, each broker
    node runs inside its own namespace and listens on its namespace address."""

    name = "local"
    host = "127.0.0.1"
    client_host = "127.0.0.1"
    node_form = "process"
    proxy_node: int | None = None

    def __init__(self, run_id: str, network: Any = None) -> None:
        self.run_id = run_id
        self.network = network      # harness.network.namespaces.NamespaceNetwork | None
        self.isolated = network is not None
        self._taken: set[int] = set()
        self._ports: tuple[int, int] | None = None   # listen_port_range(), read on first use
        self._rng = random.Random()   # its own: no seeding elsewhere makes runs pick the same ports

    def clients(self) -> LocalRuntime:
        return self

    def __enter__(self) -> LocalRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        """Nothing to remove: each process is stopped by whoever started it."""

    def process(self, spec: ProcessSpec) -> LocalProcess:
        if self.network is not None and spec.node is not None:
            spec = replace(spec, argv=self.network.exec_prefix(spec.node) + spec.argv)
        return LocalProcess(spec, self.run_id)

    def exec_prefix(self, node: int, env: dict[str, str] | None = None) -> list[str]:
        """Prefix for a command that must run beside node `node` (in its namespace, if any); the
        command runs here, so `env` reaches it through the caller's subprocess environment."""
        return self.network.exec_prefix(node) if self.network is not None else []

    def address(self, node: int) -> str:
        return self.network.address(node) if self.network is not None else self.host

    def free_port(self) -> int:
        """A port free now, not handed out before in this run, and outside the kernel's ephemeral range.

        A node that restarts binds its ports again: one from the ephemeral range could meanwhile be
        the local end of any client's outgoing connection (seen: a RabbitMQ node restarted after a
        kill refused to boot, `dist_port_already_used ... not_erlang`). Outgoing connections never
        take a port outside the range."""
        if self._ports is None:
            self._ports = listen_port_range()
        low, high = self._ports
        for _ in range(200):
            port = self._rng.randrange(low, high)
            if port in self._taken:
                continue
            with socket.socket() as sock:
                try:
                    sock.bind((self.host, port))
                except OSError:
                    continue
            self._taken.add(port)
            return port
        raise RuntimeError(f"no free port found in {low}-{high - 1}")
