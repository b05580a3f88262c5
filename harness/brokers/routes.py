"""Where each client group (producer, consumer1, ...) dials each broker node.

Directly by default; through one Toxiproxy proxy per (group, node) when the scenario has
link faults. Kafka also advertises these addresses, so metadata redirects stay on the route.
"""

from __future__ import annotations

from collections.abc import Mapping

Key = tuple[str, int]   # (client group, node number)
Path = tuple[str, int | str]   # (client group, node number or service name): a proxied path


class ClientRoutes:
    def __init__(self, upstreams: Mapping[Key, tuple[str, int]]) -> None:
        self.upstreams: dict[Path, tuple[str, int]] = {key: at for key, at in upstreams.items()}   # the listeners
        self.endpoints: dict[Path, tuple[str, int]] = dict(self.upstreams)   # what clients dial

    def route_through(self, endpoints: Mapping[Path, tuple[str, int]]) -> None:
        """Dial these instead; paths to anything but this target's nodes are ignored."""
        self.endpoints.update({key: value for key, value in endpoints.items() if key in self.upstreams})

    def dial(self, group: str) -> list[str]:
        """host:port of every node, in node order, for one client group."""
        return [f"{host}:{port}" for (g, _), (host, port) in sorted(self.endpoints.items()) if g == group]
