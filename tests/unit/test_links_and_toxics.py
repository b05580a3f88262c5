"""Link selectors, toxic attributes and which proxies a link crosses (no server needed)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.brokers.kafka.spec import KafkaSpec
from harness.errors import ScenarioError
from harness.faults.toxics import ToxicFault, toxic_attributes
from harness.runtimes.local import LocalRuntime
from harness.scenario.links import parse_link
from harness.scenario.loader import parse_scenario
from harness.services.proxies import ProxyNet, client_groups


@pytest.mark.parametrize("text,source,index,dest", [
    ("client->node(2)", "client", None, "node(2)"),
    ("producer->any", "producer", None, None),
    ("consumer(1)->leader(orders, 0)", "consumer", 1, "leader(orders, 0)"),
    ("consumer -> controller", "consumer", None, "controller"),
])
def test_links_parse(text: str, source: str, index: int | None, dest: str | None) -> None:
    link = parse_link(text)
    assert (link.source, link.source_index, None if link.dest is None else str(link.dest)) == (source, index, dest)


@pytest.mark.parametrize("text", ["client", "server->any", "producer(1)->any", "consumer(0)->any",
                                  "client->consumer(1)", "client->nowhere"])
def test_bad_links_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_link(text)


def toxic(**fields: object) -> ToxicFault:
    return ToxicFault(at=0, link="client->any", **fields)  # type: ignore[arg-type]  # fields: ToxicFault's own


@pytest.mark.parametrize("fault,kind,attributes", [
    (toxic(action="latency", latency="300ms", jitter="100ms"), "latency", {"latency": 300, "jitter": 100}),
    (toxic(action="bandwidth", rate=64), "bandwidth", {"rate": 64}),
    (toxic(action="slow_close", delay="2s"), "slow_close", {"delay": 2000}),
    (toxic(action="timeout", timeout=0), "timeout", {"timeout": 0}),
    (toxic(action="reset_peer", timeout="500ms"), "reset_peer", {"timeout": 500}),
    (toxic(action="slicer", average_size=10, size_variation=5, slice_delay="1ms"), "slicer",
     {"average_size": 10, "size_variation": 5, "delay": 1000}),
    (toxic(action="limit_data", bytes=1024), "limit_data", {"bytes": 1024}),
])
def test_toxic_attributes_are_in_toxiproxy_units(fault: ToxicFault, kind: str, attributes: dict) -> None:
    assert toxic_attributes(fault) == (kind, attributes)


def test_a_toxic_needs_its_parameter() -> None:
    with pytest.raises(ScenarioError, match="latency needs latency"):
        parse_scenario("name: t\ntarget: {kind: kafka}\nfaults: [{at: 1s, action: latency, link: client->any}]\n")
    with pytest.raises(ScenarioError, match="bandwidth needs rate"):
        parse_scenario("name: t\ntarget: {kind: kafka}\nfaults: [{at: 1s, action: bandwidth, link: client->any}]\n")


def net() -> ProxyNet:
    upstreams = {(g, n): ("127.0.0.1", 9000 + n) for g in client_groups(2) for n in (1, 2, 3)}
    return ProxyNet(LocalRuntime("as-unit"), upstreams)


def test_each_client_group_has_its_own_proxy_to_each_node() -> None:
    proxies = net()
    assert len(proxies.paths) == 9 and len(set(proxies.endpoints().values())) == 9


@pytest.mark.parametrize("link,node,expected", [
    ("client->any", None, 9),
    ("client->node(2)", 2, 3),
    ("producer->any", None, 3),
    ("consumer->any", None, 6),
    ("consumer(2)->node(1)", 1, 1),
])
def test_a_link_crosses_the_proxies_it_names(link: str, node: int | None, expected: int) -> None:
    paths = net().select(parse_link(link), node)
    assert len(paths) == expected
    if node is not None:
        assert {p.node for p in paths} == {node}


def test_partitions_require_namespaces() -> None:
    with pytest.raises(ScenarioError, match="isolation: namespaces"):
        parse_scenario("name: t\ntarget: {kind: kafka}\nfaults: [{at: 1s, action: partition, mode: halves}]\n")


def test_partition_groups_must_name_real_nodes_once() -> None:
    with pytest.raises(ScenarioError, match="at most once"):
        parse_scenario("name: t\ntarget: {kind: kafka}\nnetwork: {isolation: namespaces}\n"
                       "faults: [{at: 1s, action: partition, mode: groups, groups: [[1, 2], [2, 4]]}]\n")


def test_the_proxies_are_planned_with_the_cluster_and_kafka_advertises_them(tmp_path: Path,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing is rewired after the cluster is built: each client path's proxy is planned while the
    cluster plans its listeners, so what clients dial and what Kafka advertises are final at once."""
    from harness.brokers.kafka import cluster as kafka

    monkeypatch.setattr(kafka, "kafka_classpath", lambda version=None: "/nowhere/*")
    runtime = LocalRuntime("as-unit")
    proxies = ProxyNet(runtime, {})
    built = kafka.KafkaCluster(KafkaSpec(kind="kafka", nodes=3), runtime, tmp_path, client_groups(1), proxies.via)
    assert set(proxies.paths) == {(g, n) for g in ("producer", "consumer1") for n in (1, 2, 3)}
    for (group, node), path in proxies.paths.items():
        assert path.upstream == (runtime.address(node), built.client_listeners[(group, node)])
        assert built.routes.endpoints[(group, node)] == path.listen
        advertised = built.node_properties(node)["advertised.listeners"]
        assert f"{group.upper()}://{path.listen[0]}:{path.listen[1]}" in advertised
    assert built.routes.dial("producer") == [f"{h}:{p}" for h, p in (proxies.paths[("producer", n)].listen
                                                                      for n in (1, 2, 3))]
    proxies.create(SimpleNamespace(create_proxy=lambda *args: None))   # a stand-in client: creates nothing
    with pytest.raises(RuntimeError, match="planned after the proxies were created"):
        proxies.via(("producer", 4), ("127.0.0.1", 1))


def test_without_link_faults_clients_dial_the_nodes_themselves(tmp_path: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    from harness.brokers.kafka import cluster as kafka

    monkeypatch.setattr(kafka, "kafka_classpath", lambda version=None: "/nowhere/*")
    built = kafka.KafkaCluster(KafkaSpec(kind="kafka", nodes=3), LocalRuntime("as-unit"), tmp_path, client_groups(1))
    assert built.client_listeners == {}
    assert built.routes.dial("consumer1") == [f"127.0.0.1:{built.broker_ports[n]}" for n in (1, 2, 3)]
