"""Partitions as iptables DROP rules inside each node's network namespace, whatever made the
namespace (our own `ip netns`, or a container's). A node's whole filter table is replaced in one
iptables-restore, so a cut is atomic; overlapping partitions merge their grudges."""

from __future__ import annotations

import logging
import subprocess

from harness.errors import ClusterError
from harness.network import grudges
from harness.network.grudges import Grudge
from harness.network.probes import Reachability, measure

log = logging.getLogger("aftershock")
CMD_TIMEOUT = 20.0


def sh(*argv: str, stdin: str | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    log.info("run %s", " ".join(argv))
    done = subprocess.run(argv, input=stdin, capture_output=True, text=True, timeout=CMD_TIMEOUT)
    if check and done.returncode != 0:
        raise ClusterError(f"`{' '.join(argv)}` failed: {done.stderr.strip()}")
    return done


class IptablesPartitions:
    """Mixed into a network that has `nodes`, `client_address`, `address(i)` and `exec_prefix(i)`."""

    nodes: list[int]
    client_address: str
    _active: dict[int, Grudge]

    def address(self, i: int) -> str:
        raise NotImplementedError

    def exec_prefix(self, i: int) -> list[str]:
        raise NotImplementedError

    def client_addresses(self) -> list[str]:
        """Where client traffic comes from (a network with a proxy of its own adds it)."""
        return [self.client_address]

    def partition(self, key: int, grudge: Grudge) -> None:
        self._active[key] = grudge
        self._apply()

    def heal(self, key: int) -> None:
        self._active.pop(key, None)
        self._apply()

    def _apply(self) -> None:
        merged = grudges.merge(self._active.values())
        for i in self.nodes:
            self._restore(i, merged.get(i, frozenset()))

    def _restore(self, i: int, dropped: frozenset[int]) -> None:
        """Replace node i's whole filter table in one iptables-restore: the cut is atomic."""
        lines = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]"]
        for peer in sorted(dropped):
            if peer == grudges.CLIENT:  # the clients' side is not ours to filter: drop both ways here
                for address in self.client_addresses():
                    lines += [f"-A INPUT -s {address}/32 -j DROP", f"-A OUTPUT -d {address}/32 -j DROP"]
            else:
                lines.append(f"-A INPUT -s {self.address(peer)}/32 -j DROP")
        lines.append("COMMIT")
        sh(*self.exec_prefix(i), "iptables-restore", stdin="\n".join(lines) + "\n")

    def reachability(self, extra: Grudge | None = None) -> Reachability:
        """Every pair of sides (the clients' and each node's) probed now, against the grudges in
        force (and `extra`: a cut made otherwise, such as a container taken off its network)."""
        grudge = grudges.merge([*self._active.values(), *([extra] if extra else [])])
        return measure([grudges.CLIENT, *self.nodes], grudge,
                       lambda i: [] if i == grudges.CLIENT else self.exec_prefix(i),
                       lambda i: self.client_address if i == grudges.CLIENT else self.address(i))

    def rules(self, i: int) -> str:
        return sh(*self.exec_prefix(i), "iptables", "-S", "INPUT").stdout
