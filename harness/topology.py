"""The run's topology: the network its nodes live on, the runtime that runs them, the cluster, and
what stands between clients and nodes (Toxiproxy, the downstream service). Planned first, then
entered in order on the run's ExitStack, so it is torn down in reverse."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.brokers import broker
from harness.brokers.base import Cluster
from harness.brokers.routes import Path as ProxiedPath
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


def build(scenario: Scenario, run_id: str, out_dir: Path, proxied: bool, stack: contextlib.ExitStack,
          set_phase: Callable[[str], None], watch: Watch) -> Topology:
    """Network, runtime and cluster; then the downstream service and, when link faults need it,
    Toxiproxy in front of every client path. These run before the brokers start: Kafka advertises
    the proxies' addresses."""
    kind = RUNTIME_KINDS[scenario.runtime]
    nodes = list(range(1, scenario.target.nodes + 1))
    network = kind.network(run_id, scenario.target.kind, nodes, scenario.network.isolation, scenario.compose_project)
    if network is not None:
        set_phase(f"creating the run's network ({type(network).__name__})")
        network = stack.enter_context(network)
    runtime = stack.enter_context(kind.runtime(run_id, network, out_dir))  # removes its containers last
    # The runtime says how it runs a node (as a process, from an image, or already published by
    # someone else); the broker's cluster of that form describes its nodes so.
    factory = broker(scenario.target.kind).clusters[runtime.node_form]   # validation checked it exists
    cluster = factory(scenario.target, runtime, out_dir, client_groups(scenario.consumer.instances), proxied)
    topology = Topology(network, runtime, cluster)
    _links(topology, scenario, out_dir, proxied, stack, set_phase, watch)
    return topology


def _links(topology: Topology, scenario: Scenario, out_dir: Path, proxied: bool, stack: contextlib.ExitStack,
           set_phase: Callable[[str], None], watch: Watch) -> None:
    """The service is a local process beside the clients; Toxiproxy runs where the runtime places it
    (a container on the Docker runtime's network, which reaches the service at the host's address)."""
    runtime = topology.runtime
    host = runtime.client_host
    instances = range(1, scenario.consumer.instances + 1)
    service_upstreams: dict[ProxiedPath, tuple[str, int]] = {}
    if scenario.consumer.downstream is not None:
        downstream = stack.enter_context(DownstreamService(runtime.clients(), out_dir, host=host))
        watch([downstream.process], "downstream")
        topology.downstream_urls = {i: downstream.url for i in instances}
        service_upstreams = {(f"consumer{i}", downstream.name): (host, downstream.port) for i in instances}
    if not proxied:
        return
    set_phase("starting Toxiproxy")
    toxiproxy = stack.enter_context(ToxiproxyServer(runtime, out_dir))
    watch([toxiproxy.process], "toxiproxy")
    upstreams: dict[ProxiedPath, tuple[str, int]] = {**topology.cluster.routes.upstreams, **service_upstreams}
    proxies = ProxyNet(None, upstreams, server=toxiproxy)
    proxies.create(toxiproxy.client)
    topology.cluster.routes.route_through(proxies.endpoints())
    for key, (proxy_host, port) in proxies.endpoints().items():
        if key in service_upstreams:  # each consumer calls the service through its own proxy
            topology.downstream_urls[int(str(key[0]).removeprefix("consumer"))] = f"http://{proxy_host}:{port}"
    topology.proxies = proxies
