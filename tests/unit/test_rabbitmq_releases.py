"""`target.version` on RabbitMQ: 3.10 from the host's packages, 4.0 from a Debian 13 root, validated
where the scenario names it; a node of a rooted release, and each rabbitmqctl beside it, runs
chrooted in its own mount namespace with the run's files bind-mounted at fixed paths inside the root
(tests/integration/test_rabbitmq_versions.py runs it for real)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.brokers.rabbitmq import cluster as host_form, rooted
from harness.brokers.rabbitmq.roots import INSIDE, root_dir
from harness.brokers.rabbitmq.spec import RabbitSpec
from harness.errors import ScenarioError
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
    ("version: '3.8'", "RabbitMQ version 3.8: Aftershock runs 3.10 (Debian 12), 4.0 (Debian 13)"),
])
def test_a_release_it_cannot_run_is_refused_at_its_line(line: str, says: str) -> None:
    with pytest.raises(ScenarioError) as refused:
        parse_scenario(rabbit(line), "v.yaml")
    assert "v.yaml:4:" in str(refused.value) and says in str(refused.value)


@pytest.mark.parametrize("runtime", ["docker", "compose"])
def test_runtimes_running_images_refuse_another_release_so_far(runtime: str) -> None:
    extra = f"runtime: {runtime}\n" + ("compose_project: p\n" if runtime == "compose" else "")
    with pytest.raises(ScenarioError, match=r"v.yaml:4:.*version 4.0: .*runtime: local"):
        parse_scenario(rabbit("version: '4.0'", extra), "v.yaml")


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
