"""One Toxiproxy proxy per client path: (producer | consumer i) x broker node.

Giving each client group its own proxies lets a fault slow the producers without touching
the consumers, or cut consumer 1 alone. A link (`consumer(1)->leader(orders, 0)`) resolves
to the set of proxies it crosses.
"""

from __future__ import annotations

from dataclasses import dataclass

from harness.runtimes.local import LocalRuntime
from harness.scenario.links import Link
from harness.services.toxiproxy import ToxiproxyClient, ToxiproxyServer


def client_groups(consumer_instances: int) -> list[str]:
    return ["producer"] + [f"consumer{i}" for i in range(1, consumer_instances + 1)]


@dataclass(frozen=True)
class Path:
    group: str
    node: int | str             # a broker node number, or a downstream service name
    listen: tuple[str, int]     # what the client dials
    upstream: tuple[str, int]   # the broker's listener for this group
    bind: str = "127.0.0.1"     # where the proxy listens (0.0.0.0 in its own container)

    @property
    def name(self) -> str:
        return f"{self.group}-n{self.node}" if isinstance(self.node, int) else f"{self.group}-{self.node}"


class ProxyNet:
    """The proxies of one run; created before the brokers start (Kafka advertises them)."""

    def __init__(self, runtime: LocalRuntime | None, upstreams: dict[tuple[str, int | str], tuple[str, int]],
                 server: ToxiproxyServer | None = None) -> None:
        """Ports come from the server's placement when given (a container's own address), else
        from free loopback ports of `runtime`. More paths are planned with `via` (the cluster's,
        as it plans its listeners) until the proxies are created."""
        if server is not None:
            self._bind, self._dial, self._next_port = server.bind_host, server.dial_host, server.next_port
        else:
            assert runtime is not None
            self._bind, self._dial, self._next_port = "127.0.0.1", "127.0.0.1", runtime.free_port
        self.paths: dict[tuple[str, int | str], Path] = {}
        self.client: ToxiproxyClient | None = None
        for key, upstream in upstreams.items():
            self.via(key, upstream)

    def via(self, key: tuple[str, int | str], upstream: tuple[str, int]) -> tuple[str, int]:
        """Plans the proxy of one path (a routes.Via): where its clients dial to reach `upstream`."""
        if self.client is not None:
            raise RuntimeError(f"proxy for {key} planned after the proxies were created")
        self.paths[key] = Path(key[0], key[1], (self._dial, self._next_port()), upstream, self._bind)
        return self.paths[key].listen

    def endpoints(self) -> dict[tuple[str, int | str], tuple[str, int]]:
        return {key: path.listen for key, path in self.paths.items()}

    def create(self, client: ToxiproxyClient) -> None:
        self.client = client
        for path in self.paths.values():
            (up_host, up_port) = path.upstream
            client.create_proxy(path.name, f"{path.bind}:{path.listen[1]:d}", f"{up_host}:{up_port:d}")

    def select(self, link: Link, node: int | None) -> list[Path]:
        """The paths a link crosses; `node` is its resolved destination (None: any node)."""
        if link.source == "producer":
            groups = {"producer"}
        elif link.source == "consumer":
            groups = {g for g, _ in self.paths if g.startswith("consumer")}
            if link.source_index is not None:
                groups = {f"consumer{link.source_index}"}
        else:
            groups = {g for g, _ in self.paths}
        if link.service is not None:
            return [p for (g, n), p in sorted(self.paths.items(), key=str) if g in groups and n == link.service]
        return [p for (g, n), p in sorted(self.paths.items(), key=str)
                if g in groups and isinstance(n, int) and (node is None or n == node)]
