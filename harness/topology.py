"""The run's topology: the network its nodes live on, the runtime that runs them, the cluster, and
what stands between clients and nodes (Toxiproxy, the downstream service). Planned first, then
entered in order on the run's ExitStack, so it is torn down in reverse."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.brokers import broker, node_count
from harness.brokers.base import Cluster
from harness.runtimes import RUNTIME_KINDS
from harness.runtimes.base import NodeProcess, Runtime
from harness.scenario.model import Scenario
from harness.services.downstream import DownstreamService
from harness.services.proxies import ProxyNet, client_groups
from harness.services.toxiproxy import ToxiproxyServer

Watch = Callable[[list[NodeProcess], str], None]   # (processes, role): the watchdog's watch_all


@dataclass
class Topology:
    network: Any                        # namespaces, the run's Docker network, a compose project, or None
    runtime: Runtime
    cluster: Cluster                    # built, not started: the orchestrator starts it as a phase
    proxies: ProxyNet | None = None
    downstream_urls: dict[int, str] = field(default_factory=dict)   # consumer instance -> service URL
    versions: dict[str, str] = field(default_factory=dict)          # of the services beside the cluster


def build(scenario: Scenario, run_id: str, out_dir: Path, proxied: bool, stack: contextlib.ExitStack,
          set_phase: Callable[[str], None], watch: Watch) -> Topology:
    """Network, runtime and cluster; then the downstream service and, when link faults need it,
    Toxiproxy in front of every client path. These run before the brokers start: Kafka advertises
    the proxies' addresses."""
    kind = RUNTIME_KINDS[scenario.runtime]
    nodes = list(range(1, node_count(scenario.target) + 1))
    network = kind.network(run_id, scenario.target.kind, nodes, scenario.network.isolation, scenario.compose_project)
    if network is not None:
        set_phase(f"creating the run's network ({type(network).__name__})")
        network = stack.enter_context(network)
    runtime = stack.enter_context(kind.runtime(run_id, network, out_dir))  # removes its containers last
    # The runtime says how it runs a node (as a process, from an image, or already published by
    # someone else); the broker's cluster of that form describes its nodes so.
    plugin = broker(scenario.target.kind)
    provide = plugin.provide.get(runtime.node_form)
    if provide is not None:   # e.g. the release the scenario names, resolved on its first use
        provide(scenario.target, set_phase)
    factory = plugin.clusters[runtime.node_form]   # validation checked it exists
    # Link faults: Toxiproxy's placement is known before anything starts, so every client path's proxy
    # is planned with the cluster's listeners (Kafka advertises the proxies) and nothing is rewired later.
    toxiproxy = ToxiproxyServer(runtime, out_dir) if proxied else None
    proxies = ProxyNet(None, {}, server=toxiproxy) if toxiproxy is not None else None
    cluster = factory(scenario.target, runtime, out_dir, client_groups(scenario.consumer.instances),
                      proxies.via if proxies is not None else None)
    topology = Topology(network, runtime, cluster, proxies)
    _links(topology, scenario, out_dir, toxiproxy, stack, set_phase, watch)
    return topology


def _links(topology: Topology, scenario: Scenario, out_dir: Path, toxiproxy: ToxiproxyServer | None,
           stack: contextlib.ExitStack, set_phase: Callable[[str], None], watch: Watch) -> None:
    """The service is a local process beside the clients, reached through its own proxy per consumer
    when the run is proxied; then Toxiproxy starts where the runtime places it (a container on the
    Docker runtime's network, which reaches the service at the host's address) and the planned
    proxies are created."""
    runtime = topology.runtime
    host = runtime.client_host
    instances = range(1, scenario.consumer.instances + 1)
    proxies = topology.proxies
    if scenario.consumer.downstream is not None:
        downstream = stack.enter_context(DownstreamService(runtime.clients(), out_dir, host=host))
        watch([downstream.process], "downstream")
        for i in instances:
            at = (host, downstream.port)
            if proxies is not None:   # each consumer calls the service through its own proxy
                at = proxies.via((f"consumer{i}", downstream.name), at)
            topology.downstream_urls[i] = f"http://{at[0]}:{at[1]}"
    if toxiproxy is None or proxies is None:
        return
    set_phase("starting Toxiproxy")
    stack.enter_context(toxiproxy)
    topology.versions["toxiproxy"] = toxiproxy.version
    watch([toxiproxy.process], "toxiproxy")
    proxies.create(toxiproxy.client)
