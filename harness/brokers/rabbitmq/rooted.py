"""A RabbitMQ cluster of local processes running a release the host cannot install (Debian 13's
RabbitMQ 4): each node, and each rabbitmqctl beside it, runs chrooted in the release's root
(roots.py), in a mount namespace of its own where /proc and the run's files (the node's directory,
the run's HOME with its cookie) are bind-mounted at fixed paths inside the root; the host's mounts
and the shared root are never changed. Network namespaces, ports, epmd and faults are the process
form's, unchanged."""

from __future__ import annotations

from pathlib import Path

from harness.brokers.rabbitmq.cluster import RabbitCluster
from harness.brokers.rabbitmq.dist import RELEASES, erlang_version, installed_version
from harness.brokers.rabbitmq.roots import INSIDE, root_dir

# $1 root, $2 the node's directory, $3 the run's HOME; the rest is the command to run inside.
CHROOT = ('root=$1 node=$2 home=$3; shift 3; mount -t proc proc "$root/proc" && mount --bind "$node"'
          ' "$root/aftershock/node" && mount --bind "$home" "$root/aftershock/home" && exec chroot "$root" "$@"')
BIN = "/usr/lib/rabbitmq/bin"


class RabbitRootCluster(RabbitCluster):
    def _plan_nodes(self, ids: range) -> None:
        suite = RELEASES[self.spec.version].suite
        assert suite is not None, "a release of the host's own packages runs as RabbitCluster"
        self.root = root_dir(suite)
        super()._plan_nodes(ids)

    def _release_version(self) -> str:
        return installed_version(self.root)

    def _inside(self, path: Path) -> str:
        nodes = range(1, self.spec.nodes + 1)
        for mounted, at in ((self.home, "home"), *((self.node_dir(i), "node") for i in nodes)):
            if path == mounted or mounted in path.parents:
                return str(INSIDE / at / path.relative_to(mounted))
        raise AssertionError(f"{path} is not mounted in the root")

    def _command(self, i: int, program: str) -> list[str]:
        inside = f"{BIN}/{Path(program).name}"
        return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", CHROOT, "aftershock-root",
                str(self.root), str(self.node_dir(i)), str(self.home), inside]

    def versions(self) -> dict[str, str]:
        return {**super().versions(), "erlang": erlang_version(self.root), "root": str(self.root)}
