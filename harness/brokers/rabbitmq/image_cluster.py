"""A RabbitMQ cluster of containers (node form "image"): each node a rabbitmq image's rabbit@rabbit-i,
configured through the image's contract (cookie variable, conf.d file), with the image's own epmd
and ports; only the client listener is the run's. Clustered as the process form is."""

from __future__ import annotations

import json
import re

from harness.brokers.rabbitmq.common import RabbitClusterBase
from harness.brokers.rabbitmq.config import render_conf
from harness.brokers.rabbitmq.dist import DEFAULT_RELEASE
from harness.runtimes.base import ImageContract, ProcessSpec, RunsImages

CONF_D = "/etc/rabbitmq/conf.d/90-aftershock.conf"   # read after the image's own defaults


class RabbitContainers(RabbitClusterBase):
    """What every containerised form shares: rabbitmqctl runs in the node's container, with its cookie."""

    runtime: RunsImages

    def _ctl_command(self, i: int) -> list[str]:
        return ["rabbitmqctl"]   # the image's own, on its PATH

    def _ctl_output(self, stdout: str) -> str:
        """The image's RABBITMQ_ERLANG_COOKIE reaches `docker exec` too, and rabbitmqctl warns about
        it on stdout, ahead of the JSON or table it was asked for."""
        return "".join(line for line in stdout.splitlines(keepends=True) if "RABBITMQ_ERLANG_COOKIE" not in line)

    def versions(self) -> dict[str, str]:
        """What the node itself says it runs (an image's tag need not name its release), and the image."""
        return {**super().versions(), **node_versions(self.ctl(1, "status", "--formatter", "json", check=False).stdout),
                "image": self._image_name()}

    def _rabbit_version(self) -> str:
        return "unknown"   # replaced by the node's own answer in versions()

    def _image_name(self) -> str:
        return self.runtime.image(1)


def node_versions(status: str) -> dict[str, str]:
    """rabbitmq and erlang from `rabbitmqctl status --formatter json` ("unknown" where it said nothing):
    its erlang_version reads "Erlang/OTP 27 [erts-15.2.7] ...", which names the OTP major release and
    the runtime system's version, not the full OTP version a root's OTP_VERSION file gives."""
    try:
        found = json.loads(status)
    except ValueError:
        found = {}
    otp = re.match(r"Erlang/OTP (\S+) \[erts-([^\]]+)\]", str(found.get("erlang_version", "")))
    return {"rabbitmq": str(found.get("rabbitmq_version") or "unknown"),
            "erlang": f"{otp.group(1)} (erts {otp.group(2)})" if otp else "unknown"}


class RabbitImageCluster(RabbitContainers):
    def _plan_nodes(self, ids: range) -> None:
        self.node_names = {i: f"rabbit@rabbit-{i}" for i in ids}
        self.amqp_ports = {i: self.runtime.free_port() for i in ids}
        self.endpoints = {i: (self.runtime.address(i), self.amqp_ports[i]) for i in ids}

    def _node_spec(self, i: int) -> ProcessSpec:
        return ProcessSpec(name=f"rabbit-{i}", argv=[], log_path=self.node_dir(i) / "node.log", node=i,
                           image=self._contract(i))

    def _contract(self, i: int) -> ImageContract:
        """The official image's contract: the cookie in RABBITMQ_ERLANG_COOKIE, the node's config in
        conf.d, its name from its host name, the other nodes' names resolvable at their addresses."""
        # The default release runs the image set's own; another, the image built or published for it.
        release = "" if self.spec.version == DEFAULT_RELEASE else self.spec.version
        return ImageContract(
            role="rabbitmq", hostname=f"rabbit-{i}", release=release,
            env={"RABBITMQ_ERLANG_COOKIE": self.cookie, "RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS": self._erl_args()},
            mounts={CONF_D: self.node_dir(i) / "rabbitmq.conf"},
            hosts={f"rabbit-{j}": self.runtime.address(j) for j in range(1, self.spec.nodes + 1)})

    def _write_files(self) -> None:
        for i in self.nodes:
            self.node_dir(i).mkdir(parents=True, exist_ok=True)
            (self.node_dir(i) / "rabbitmq.conf").write_text(render_conf(self.node_conf(i)))
