"""The orchestrator's side of FaultEnv: selectors resolved against the live cluster."""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

from harness.errors import Interrupted
from harness.runtimes.base import NodeProcess
from harness.scenario.selectors import Selector
from harness.wait import wait_until

RESOLVE_TIMEOUT = 10.0


@dataclass
class RunFaultEnv:
    cluster: Any             # harness.brokers.base.Cluster
    consumers: Any           # harness.services.consumers.ConsumerGroup
    rng: random.Random
    proxies: Any = None
    network: Any = None
    relay: Any = None        # harness.services.relay.OutboxRelay | None
    greeting: bytes = b""    # the broker's (Broker.greeting): link faults time a round trip with it

    @property
    def node_numbers(self) -> list[int]:
        return sorted(self.cluster.nodes)

    def node_of(self, selector: Selector) -> int:
        if selector.kind == "node":
            return selector.index
        # A leader or controller can be briefly unknown (an election under way): wait a little, but
        # not through Ctrl-C or SIGTERM (the run's handler raises Interrupted inside the probe too).
        if selector.kind == "leader":
            return wait_until(lambda: self.cluster.leader_of(*selector.args), what=f"a {selector}",
                              timeout=RESOLVE_TIMEOUT, interval=0.5, give_up_on=(Interrupted,))
        if selector.kind == "controller":
            return wait_until(self.cluster.controller, what="an active controller", timeout=RESOLVE_TIMEOUT,
                              interval=0.5, give_up_on=(Interrupted,))
        if selector.kind == "random":
            return self.rng.choice(sorted(self.cluster.brokers))
        raise ValueError(f"{selector} is not a broker node")

    def process(self, selector: Selector) -> tuple[str, NodeProcess]:
        if selector.kind == "consumer":
            return f"consumer-{selector.index}", self.consumers.instances[selector.index]
        if selector.kind == "relay":
            return "relay", self.relay.process
        node = self.cluster.nodes[self.node_of(selector)]
        return node.name, node
