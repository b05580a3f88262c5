"""Where each client group (producer, consumer1, ...) dials each broker node.

Directly by default; through one Toxiproxy proxy per (group, node) when the scenario has
link faults. Kafka also advertises these addresses, so metadata redirects stay on the route.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

Key = tuple[str, int]   # (client group, node number)
Path = tuple[str, int | str]   # (client group, node number or service name): a proxied path
# Plans the proxy a path goes through: (path, the listener it leads to) -> the address clients dial
# instead (harness.services.proxies.ProxyNet.via). Given to the cluster when the run has link faults.
Via = Callable[[Path, tuple[str, int]], tuple[str, int]]


class ClientRoutes:
    """Planned once, when the cluster is: each path's listener, and what its clients dial (the
    listener itself, or the proxy `via` plans in front of it)."""

    def __init__(self, upstreams: Mapping[Key, tuple[str, int]], via: Via | None = None) -> None:
        self.upstreams: dict[Path, tuple[str, int]] = {key: at for key, at in upstreams.items()}   # the listeners
        self.endpoints: dict[Path, tuple[str, int]] = {   # what clients dial
            key: via(key, at) if via is not None else at for key, at in self.upstreams.items()}

    def dial(self, group: str) -> list[str]:
        """host:port of every node, in node order, for one client group."""
        return [f"{host}:{port}" for (g, _), (host, port) in sorted(self.endpoints.items()) if g == group]
