"""`target.version` on RabbitMQ: 3.10 from the host's packages, 4.0 and 4.3 from Debian roots, validated
where the scenario names it; a node of a rooted release, and each rabbitmqctl beside it, runs
chrooted in its own mount namespace with the run's files bind-mounted at fixed paths inside the root
(tests/integration/test_rabbitmq_versions.py runs it for real)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from harness.brokers.rabbitmq import cluster as host_form, rooted
from harness.brokers.rabbitmq.roots import INSIDE, root_dir
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.errors import ClusterError, ScenarioError
from harness.runtimes.local import LocalRuntime
from harness.scenario.loader import parse_scenario


def rabbit(line: str, extra: str = "") -> str:
    return f"name: v\ntarget:\n  kind: rabbitmq\n  {line}\n{extra}"


def test_the_host_release_is_the_default_and_4_0_is_accepted() -> None:
    assert parse_scenario(rabbit("nodes: 3")).target.version == "3.10"
    assert parse_scenario(rabbit("version: '4.0'")).target.version == "4.0"


@pytest.mark.parametrize("line,says", [
    ("version: 4.0", "YAML reads it as a number; quote the series, e.g. version: '4.0'"),
    ("version: 3.10", "YAML reads it as a number"),
    ("version: '3.8'", "RabbitMQ version 3.8: Aftershock runs 3.10 (Debian 12), 4.0 (Debian 13), 4.3 (Debian 14"),
])
def test_a_release_it_cannot_run_is_refused_at_its_line(line: str, says: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(rabbit(line), "v.yaml")
    assert "v.yaml:4:" in str(refused.value) and says in str(refused.value)


def test_a_compose_project_refuses_another_release_than_its_own() -> None:
    with pytest.raises(ScenarioError, match=r"v.yaml:4:.*version 4.0: .*runtime: local"):
        parse_scenario(rabbit("version: '4.0'", "runtime: compose\ncompose_project: p\n"), "v.yaml")


@pytest.mark.parametrize("version", ["4.0", "4.3"])
def test_the_docker_runtime_takes_every_release_and_its_nodes_name_it(version: str) -> None:
    """A container node runs the image of its release (rabbitmq:<series>-management, or the stand-in
    built on that series' Debian root); the default release runs the image set's own."""
    from types import SimpleNamespace

    from harness.brokers.rabbitmq.image_cluster import RabbitImageCluster
    from harness.runtimes.images import image_for

    scenario = parse_scenario(rabbit(f"version: '{version}'", "runtime: docker\n"), "v.yaml")
    assert scenario.target.version == version
    cluster = RabbitImageCluster.__new__(RabbitImageCluster)
    cluster.spec, cluster.cookie = scenario.target, "C"
    cluster.runtime = SimpleNamespace(address=lambda i: f"10.0.0.{i}")   # type: ignore[assignment]
    cluster.dir = Path("/nowhere")
    assert cluster._contract(1).release == version
    cluster.spec = RabbitSpec(kind="rabbitmq", nodes=3)
    assert cluster._contract(1).release == ""
    assert image_for("rabbitmq", version, {}) == f"rabbitmq:{version}-management"
    assert image_for("rabbitmq", version, {"AFTERSHOCK_IMAGES": "local"}) == f"aftershock/rabbitmq:{version}"


def test_a_rooted_node_runs_chrooted_with_the_runs_files_mounted_inside(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rooted, "installed_version", lambda root: "4.0.5")
    spec = RabbitSpec(kind="rabbitmq", nodes=3, version="4.0")
    cluster = rooted.RabbitRootCluster(spec, LocalRuntime("as-unit"), tmp_path)
    root = root_dir("trixie")
    node2 = cluster.nodes[2].spec
    assert node2.argv[:5] == ["unshare", "--mount", "--propagation", "private", "--"]
    assert node2.argv[-4:] == [str(root), str(tmp_path / "nodes" / "rabbit-2"), str(tmp_path / "nodes" / "home"),
                               "/usr/lib/rabbitmq/bin/rabbitmq-server"]
    assert 'mount --bind "$node" "$root/aftershock/node"' in node2.argv[7] and 'exec chroot "$root"' in node2.argv[7]
    assert node2.env["RABBITMQ_MNESIA_BASE"] == str(INSIDE / "node" / "mnesia")
    assert node2.env["RABBITMQ_CONFIG_FILE"] == str(INSIDE / "node" / "rabbitmq")
    assert node2.env["HOME"] == str(INSIDE / "home")
    assert cluster._ctl_command(3)[-4:] == [str(root), str(tmp_path / "nodes" / "rabbit-3"),
                                            str(tmp_path / "nodes" / "home"), "/usr/lib/rabbitmq/bin/rabbitmqctl"]
    assert cluster.version == "4.0.5"
    with pytest.raises(AssertionError, match="not mounted in the root"):
        cluster._inside(tmp_path / "elsewhere")


def test_the_host_release_runs_the_hosts_scripts_with_its_own_paths(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host_form, "rabbitmq_version", lambda: "3.10.8")
    cluster = host_form.RabbitCluster(RabbitSpec(kind="rabbitmq", nodes=1), LocalRuntime("as-unit"), tmp_path)
    spec = cluster.nodes[1].spec
    assert spec.argv == [str(host_form.RABBIT_BIN / "rabbitmq-server")]
    assert spec.env["RABBITMQ_MNESIA_BASE"] == str(tmp_path / "nodes" / "rabbit-1" / "mnesia")


def test_the_process_form_picks_the_rooted_cluster_for_a_rooted_release(monkeypatch: pytest.MonkeyPatch,
                                                                        tmp_path: Path) -> None:
    from harness.brokers import broker

    monkeypatch.setattr(rooted, "installed_version", lambda root: "4.0.5")
    monkeypatch.setattr(host_form, "rabbitmq_version", lambda: "3.10.8")
    make = broker("rabbitmq").clusters["process"]
    runtime = LocalRuntime("as-unit")
    assert type(make(RabbitSpec(kind="rabbitmq", version="4.0"), runtime, tmp_path / "a")) is rooted.RabbitRootCluster
    assert type(make(RabbitSpec(kind="rabbitmq"), runtime, tmp_path / "b")) is host_form.RabbitCluster


@pytest.mark.parametrize("version,store", [("3.10", "mnesia"), ("4.0", "mnesia"), ("4.3", "khepri")])
def test_each_release_runs_its_own_metadata_store_unless_told(version: str, store: str) -> None:
    assert parse_scenario(rabbit(f"version: '{version}'")).target.store == store


def test_khepri_can_be_chosen_where_the_release_offers_both() -> None:
    assert parse_scenario(rabbit("version: '4.0'\n  metadata_store: khepri")).target.store == "khepri"


@pytest.mark.parametrize("lines,line,says", [
    ("version: '3.10'\n  metadata_store: khepri", 5,
     "RabbitMQ 3.10 keeps its metadata in mnesia only: khepri is offered by 4.0 and 4.3"),
    ("version: '4.3'\n  metadata_store: mnesia", 5,
     "RabbitMQ 4.3 keeps its metadata in khepri only: mnesia is offered by 3.10 and 4.0"),
    ("version: '4.0'\n  broker_config: {mirroring_sync_batch_size: 4096}", 5,
     "mirroring_sync_batch_size on RabbitMQ 4.0: classic queue mirroring was removed in RabbitMQ 4.0 (the key is"
     " accepted and has no effect): replicate with a quorum queue"),
    ("version: '4.3'\n  broker_config:\n    cluster_partition_handling: pause_minority", 6,
     "cluster_partition_handling on RabbitMQ 4.3: RabbitMQ 4.3 removed Mnesia and its partition-handling strategies"),
    ("version: '4.3'\n  queue: {name: q, type: classic, durable: false}", 5,
     "RabbitMQ 4.3 refuses non-durable queues by default"),
])
def test_what_a_release_removed_is_refused_at_its_line_saying_what_replaced_it(lines: str, line: int,
                                                                             says: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(rabbit(lines), "v.yaml")
    assert f"v.yaml:{line}:" in str(refused.value) and says in str(refused.value), str(refused.value)


@pytest.mark.parametrize("lines", [
    "version: '3.10'\n  broker_config: {mirroring_sync_batch_size: 4096}",   # 3.10 still mirrors
    "version: '4.0'\n  broker_config: {cluster_partition_handling: autoheal}",
    "version: '4.0'\n  queue: {name: q, type: classic, durable: false}",
])
def test_what_the_release_still_honours_is_accepted(lines: str) -> None:
    parse_scenario(rabbit(lines), "v.yaml")


def test_the_harness_default_partition_handling_is_left_out_where_the_release_removed_it(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rooted, "installed_version", lambda root: "4.3.6")
    monkeypatch.setattr(host_form, "rabbitmq_version", lambda: "3.10.8")
    runtime = LocalRuntime("as-unit")
    newest = rooted.RabbitRootCluster(RabbitSpec(kind="rabbitmq", version="4.3"), runtime, tmp_path / "a")
    host = host_form.RabbitCluster(RabbitSpec(kind="rabbitmq"), runtime, tmp_path / "b")
    assert "cluster_partition_handling" not in newest.node_conf(1)
    assert host.node_conf(1)["cluster_partition_handling"] == "pause_minority"


def _with_flags(cluster: rooted.RabbitRootCluster, enables: bool) -> list[tuple[str, ...]]:
    """rabbitmqctl answered by a stand-in: khepri_db turns enabled when enabled, if `enables`."""
    calls: list[tuple[str, ...]] = []
    state = {"khepri_db": "disabled"}

    def ctl(i: int, *args: str, **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(args)
        if args[:1] == ("enable_feature_flag",) and enables:
            state["khepri_db"] = "enabled"
        flags = [{"name": name, "state": value} for name, value in state.items()]
        return subprocess.CompletedProcess(args, 0, json.dumps(flags), "")

    cluster.ctl = ctl   # type: ignore[method-assign]  # the stand-in for rabbitmqctl
    return calls


@pytest.mark.parametrize("enables", [True, False])
def test_khepri_on_4_0_is_opted_into_and_read_back_a_store_that_did_not_take_is_an_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, enables: bool) -> None:
    monkeypatch.setattr(rooted, "installed_version", lambda root: "4.0.5")
    spec = RabbitSpec(kind="rabbitmq", version="4.0", metadata_store="khepri")
    cluster = rooted.RabbitRootCluster(spec, LocalRuntime("as-unit"), tmp_path)
    calls = _with_flags(cluster, enables)
    if enables:
        cluster._choose_store()
        assert cluster.metadata_store == "khepri" and cluster.versions()["metadata_store"] == "khepri"
    else:
        with pytest.raises(ClusterError, match="keep their metadata in mnesia; the scenario asks for khepri"):
            cluster._choose_store()
    assert calls[0] == ("enable_feature_flag", "--opt-in", "khepri_db")


def test_mnesia_on_4_0_enables_nothing_and_is_recorded(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(rooted, "installed_version", lambda root: "4.0.5")
    cluster = rooted.RabbitRootCluster(RabbitSpec(kind="rabbitmq", version="4.0"), LocalRuntime("as-unit"), tmp_path)
    calls = _with_flags(cluster, True)
    cluster._choose_store()
    assert cluster.metadata_store == "mnesia" and all(c[0] != "enable_feature_flag" for c in calls)
