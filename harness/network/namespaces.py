"""Each broker node in its own network namespace, joined by veth pairs to a per-run bridge.

Addresses come from 198.18.0.0/15 (reserved for benchmarking): they never leave the machine.
Clients stay in the root namespace and reach node i at its namespace address through the
bridge. Partitions are iptables DROP rules inside the node namespaces, replaced atomically
with iptables-restore. Every name carries the run's tag so `cleanup` finds leftovers, and an owner
record (harness.ownership) says whose they are while they exist.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import re
import shutil

from harness.errors import EnvironmentProblem
from harness.network.filtering import IptablesPartitions, sh
from harness.network.grudges import Grudge
from harness.ownership import OwnerRecord

log = logging.getLogger("aftershock")

SUPERNET = ipaddress.IPv4Network("198.18.0.0/15")


def run_tag(run_id: str) -> str:
    """8 hex characters of the run id: short enough for 15-character interface names."""
    return run_id.removeprefix("as-")[:8]


def require_net_admin() -> None:
    if os.geteuid() != 0:
        raise EnvironmentProblem("network: {isolation: namespaces} needs root (CAP_NET_ADMIN) to create"
                                 " namespaces, veth pairs and iptables rules: run as root, or drop partitions")
    for tool in ("ip", "iptables-restore"):
        if shutil.which(tool) is None:
            raise EnvironmentProblem(f"{tool} not found: run `make install` (Debian packages iproute2, iptables)")


def _used_subnets() -> set[str]:
    out = sh("ip", "-o", "-4", "addr", "show", check=False).stdout
    return set(re.findall(r"inet (198\.1[89]\.\d+)\.\d+/", out))


def pick_subnet(tag: str) -> ipaddress.IPv4Network:
    """A /24 of 198.18.0.0/15 no interface here uses, starting from one the run tag picks."""
    used = _used_subnets()
    start = int(tag, 16) % 512
    for k in range(512):
        net = list(SUPERNET.subnets(new_prefix=24))[(start + k) % 512]
        if str(net.network_address).rsplit(".", 1)[0] not in used:
            return net
    raise EnvironmentProblem("no free /24 left in 198.18.0.0/15 for this run's network")


class NamespaceNetwork(IptablesPartitions):
    """Bridge + one namespace per node; `address(i)` is node i's address, `client_address` the root side."""

    def __init__(self, run_id: str, nodes: list[int]) -> None:
        self.tag = run_tag(run_id)
        # Names of 15 characters at most carry only the tag: this record says who owns them (cleanup).
        self._owner = OwnerRecord(run_id, "net")
        self.nodes = nodes
        self.bridge = f"as{self.tag}br"
        self.subnet = pick_subnet(self.tag)
        hosts = list(self.subnet.hosts())
        self.client_address = str(hosts[0])
        self._addresses = {i: str(hosts[9 + i]) for i in nodes}
        self._active: dict[int, Grudge] = {}
        self._created: list[tuple[str, str]] = []   # (kind, name), undone in reverse

    def forward_rule(self) -> list[str]:
        return ["-i", self.bridge, "-o", self.bridge, "-j", "ACCEPT"]

    def namespace(self, i: int) -> str:
        return f"as-{self.tag}-n{i}"

    def address(self, i: int) -> str:
        return self._addresses[i]

    def exec_prefix(self, i: int) -> list[str]:
        return ["ip", "netns", "exec", self.namespace(i)]

    # -- lifecycle -----------------------------------------------------------------------
    def __enter__(self) -> NamespaceNetwork:
        require_net_admin()
        self._owner.__enter__()   # before anything named after the tag exists
        try:
            prefix = self.subnet.prefixlen
            sh("ip", "link", "add", self.bridge, "type", "bridge")
            self._created.append(("link", self.bridge))
            sh("ip", "addr", "add", f"{self.client_address}/{prefix}", "dev", self.bridge)
            sh("ip", "link", "set", self.bridge, "up")
            # Node-to-node traffic crosses the bridge, so a host FORWARD policy of DROP (Docker sets
            # one) would cut every node off from the others: let our own bridge forward.
            sh("iptables", "-I", "FORWARD", *self.forward_rule())
            self._created.append(("forward", self.bridge))
            for i in self.nodes:
                ns, host_end = self.namespace(i), f"as{self.tag}v{i}"
                sh("ip", "netns", "add", ns)
                self._created.append(("netns", ns))
                sh("ip", "link", "add", host_end, "type", "veth", "peer", "name", "eth0", "netns", ns)
                self._created.append(("link", host_end))
                sh("ip", "link", "set", host_end, "master", self.bridge, "up")
                sh(*self.exec_prefix(i), "ip", "addr", "add", f"{self.address(i)}/{prefix}", "dev", "eth0")
                sh(*self.exec_prefix(i), "ip", "link", "set", "eth0", "up")
                sh(*self.exec_prefix(i), "ip", "link", "set", "lo", "up")
                self._restore(i, frozenset())
            log.info("namespaces ready: %s on %s", ", ".join(self.namespace(i) for i in self.nodes), self.subnet)
        except BaseException:
            self.__exit__()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        """Run after every process in the namespaces has ended (a namespace deleted under a live
        process would leave its veth behind)."""
        for kind, name in reversed(self._created):
            argv = {"link": ("ip", "link", "del", name), "netns": ("ip", "netns", "del", name),
                    "forward": ("iptables", "-D", "FORWARD", *self.forward_rule())}[kind]
            done = sh(*argv, check=False)
            gone = ("Cannot find", "No such", "does a matching")   # already removed: nothing to do
            if done.returncode != 0 and not any(m in done.stderr for m in gone):
                log.warning("could not remove %s %s: %s", kind, name, done.stderr.strip())
        self._created.clear()
        self._owner.__exit__()   # after the last of them is gone
