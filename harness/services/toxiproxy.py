"""The real Toxiproxy server (built from source with Go by the install step), and the one small
adapter through which the harness talks to its HTTP API."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import requests

from harness.errors import ClusterError, EnvironmentProblem
from harness.paths import cache_dir
from harness.runtimes.base import ImageContract, NodeProcess, ProcessSpec
from harness.wait import wait_until

log = logging.getLogger("aftershock")

TOXIPROXY_VERSION = "2.12.0"
API_PORT = 8474  # Toxiproxy's own default; a container has its address to itself


def toxiproxy_binary() -> Path:
    path = cache_dir() / "bin" / f"toxiproxy-server-{TOXIPROXY_VERSION}"
    if not path.exists():
        raise EnvironmentProblem(f"Toxiproxy server not found at {path}: run `make install` (builds it with Go)")
    return path


class ToxiproxyClient:
    """Proxies and toxics over Toxiproxy's HTTP API; every call bounded by a timeout."""

    def __init__(self, base_url: str, timeout: float = 5.0) -> None:
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()

    def _call(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        response = self.http.request(method, f"{self.base}{path}", json=body, timeout=self.timeout)
        if response.status_code >= 400:
            raise ClusterError(f"toxiproxy {method} {path} failed: {response.status_code} {response.text.strip()}")
        return response.json() if response.content else None

    def version(self) -> str:
        """The server's own version (JSON from 2.x on: {"version": ...})."""
        text = self.http.get(f"{self.base}/version", timeout=self.timeout).text.strip()
        try:
            return str(json.loads(text)["version"])
        except (ValueError, KeyError, TypeError):
            return text

    def create_proxy(self, name: str, listen: str, upstream: str) -> None:
        self._call("POST", "/proxies", {"name": name, "listen": listen, "upstream": upstream, "enabled": True})

    def set_enabled(self, name: str, enabled: bool) -> None:
        self._call("POST", f"/proxies/{name}", {"enabled": enabled})

    def add_toxic(self, proxy: str, name: str, kind: str, stream: str, toxicity: float,
                  attributes: dict[str, Any]) -> None:
        self._call("POST", f"/proxies/{proxy}/toxics", {
            "name": name, "type": kind, "stream": stream, "toxicity": toxicity, "attributes": attributes})

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("DELETE", f"/proxies/{proxy}/toxics/{name}")

    def proxies(self) -> dict[str, Any]:
        return self._call("GET", "/proxies")

    def reset(self) -> None:
        """Enable every proxy and remove every toxic."""
        self._call("POST", "/reset")


class ToxiproxyServer:
    """One server per run: a local process on loopback, or, on the Docker runtime, a container on
    the run's network (at a fixed address of its own) so proxied traffic crosses the same network
    as the brokers'. `bind_host`/`dial_host` and `next_port` tell the proxies where to listen."""

    def __init__(self, runtime: Any, run_dir: Path) -> None:
        log_path = run_dir / "toxiproxy.log"
        if runtime.proxy_node is not None:   # the docker runtime: Toxiproxy's image
            self.bind_host, self.dial_host, self.port = "0.0.0.0", runtime.address(runtime.proxy_node), API_PORT
            image = ImageContract(role="toxiproxy", command=["-host=0.0.0.0", f"-port={API_PORT}"])
            spec = ProcessSpec(name="toxiproxy", argv=[], log_path=log_path, node=runtime.proxy_node, image=image)
        else:
            self.bind_host = self.dial_host = "127.0.0.1"
            self.port = runtime.free_port()
            spec = ProcessSpec(name="toxiproxy", argv=[str(toxiproxy_binary()), "-host", "127.0.0.1",
                                                       "-port", str(self.port)], log_path=log_path)
        self.next_port = runtime.free_port
        self.log_path = log_path
        self.process: NodeProcess = runtime.process(spec)
        self.client = ToxiproxyClient(f"http://{self.dial_host}:{self.port}")
        self.version = ""   # the server's own, once it answers

    def __enter__(self) -> ToxiproxyServer:
        self.process.start()
        try:
            wait_until(self.client.version, what="the Toxiproxy server", timeout=20, interval=0.2,
                       logs=[self.log_path])
        except BaseException:
            self.process.terminate(timeout=5)
            raise
        self.version = self.client.version()
        log.info("toxiproxy %s at %s:%d", self.version, self.dial_host, self.port)
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate(timeout=10)
