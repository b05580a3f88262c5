"""The run's phases, end to end through `Run.execute()`, over in-process stand-ins (run_standins.py): a
broker registered by the documented Broker record, recording nodes, a journalled network and runtime.
The load process (Locust, with a stand-in user that acknowledges every send) and the consumers (a few
lines that deliver what was acknowledged) are real processes; nothing else is. One journal shared by
the stand-ins gives the order of everything; hooks at its events make a call fail, a node die, or
send the run a real SIGTERM at an exact point of a phase."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import signal
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from run_standins import BROKER, KIND, STAGE, Stage, StandinKind, StandinSpec

from harness import run as run_module
from harness.brokers.base import BROKERS
from harness.errors import ClusterError
from harness.results import RunResult
from harness.run import Run
from harness.runtimes import RUNTIME_KINDS
from harness.scenario.model import Scenario

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

USER_MODULE = '''
import itertools

from harness.load.ledgered_user import LedgeredUser


class AckingUser(LedgeredUser):
    """The broker answers every send at once: acknowledged, partition 0, the next offset."""

    abstract = False
    offsets = itertools.count()

    def send(self, message_id, sent_ns, payload):
        self.acked(message_id, sent_ns, 0, next(AckingUser.offsets))

    @classmethod
    def client_versions(cls):
        return {"standin-client": "1.0"}
'''

# A: healed while the load runs; B: in force until the heal phase.
FAULTS = [{"at": 0.4, "action": "pause", "target": "node(2)", "heal_after": 0.6},
          {"at": 0.6, "action": "pause", "target": "node(3)"}]


class StandinScenario(Scenario):
    """The scenario model with the stand-in's spec as `target:` (the real union was built at import)."""

    target: StandinSpec  # type: ignore[assignment]


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where the load process finds the stand-in broker (its entry point) and its Locust user."""
    site = tmp_path_factory.mktemp("site")
    (site / "standin_user.py").write_text(textwrap.dedent(USER_MODULE).lstrip())
    dist = site / "standin_plugin-0.1.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: standin-plugin\nVersion: 0.1\n")
    (site / "standin_plugin.py").write_text("import run_standins\n\nrun_standins.register()\n")
    (dist / "entry_points.txt").write_text("[aftershock.brokers]\nstandin = standin_plugin\n")
    return site


@pytest.fixture()
def stage(plugin_site: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stage]:
    STAGE.reset()
    monkeypatch.setitem(BROKERS, KIND, BROKER)   # only while this test runs: other tests see the real registry
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(plugin_site), str(HERE), str(ROOT)]))
    monkeypatch.setitem(RUNTIME_KINDS, "local", StandinKind())
    # leftovers of other runs on this machine are none of these tests' business
    monkeypatch.setattr(run_module, "cleanup", lambda: [])
    yield STAGE
    STAGE.reset()


def scenario(**sections: Any) -> StandinScenario:
    base: dict[str, Any] = {
        "name": "phases", "target": {"kind": "standin", "nodes": 3},
        "load": {"rate": 40, "duration": 2, "users": 1}, "consumer": {"instances": 1},
        "drain": {"timeout": 10, "settle": 0.5, "stall": 3}, "faults": FAULTS}
    return StandinScenario.model_validate({**base, **sections})


def execute(scn: Scenario, out: Path) -> tuple[Run, RunResult]:
    run = Run(scn, out, Console(file=io.StringIO()))
    return run, run.execute()


def sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)   # the handler Run installed raises Interrupted right here


def raising(exc: BaseException) -> Callable[[], None]:
    def hook() -> None:
        raise exc
    return hook


def journalled(out: Path) -> list[dict[str, Any]]:
    path = out / "faults.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def in_order(journal: list[str], *events: str) -> None:
    at = [journal.index(e) for e in events]
    assert at == sorted(at), f"{events} out of order in {journal}"


def assert_everything_stopped(stage: Stage) -> None:
    assert stage.cluster is not None
    for node in stage.cluster.nodes.values():
        assert not node.alive and not node.paused, f"{node.name} left running or paused: {stage.journal}"
    assert stage.journal[-3:] == ["cluster stopped", "runtime down", "network down"], stage.journal


def test_the_phases_run_in_order_and_tear_down_in_reverse_with_faults_healed_before_the_cluster_stops(
        stage: Stage, tmp_path: Path) -> None:
    run, result = execute(scenario(), tmp_path)
    journal = stage.journal
    assert result.error is None and result.verdict.verdict == "pass", (result.error, result.verdict)
    in_order(journal, "network up", "runtime up", "cluster built", "cluster starting", "start standin-1",
             "cluster ready", "observer up", "look", "pause standin-2", "pause standin-3", "resume standin-2",
             "resume standin-3", "positions", "observer down", "terminate standin-1", "cluster stopped",
             "runtime down", "network down")
    assert journal[-3:] == ["cluster stopped", "runtime down", "network down"]
    # the observer looked at once after each fault and heal (poked), not only once a second
    assert journal.index("look", journal.index("pause standin-2")) < journal.index("pause standin-3")
    assert (tmp_path / "ledger" / "cluster-observer.csv").exists()
    assert result.metrics["faults_without_effect"] == 0   # the paused nodes led nothing
    # faults fired while the load ran; A was healed during it, B only by the heal phase after it
    assert run.load_window is not None
    load_start, load_end = run.load_window
    a, b = result.faults
    a_at, a_healed, b_at, b_healed = (t or 0 for t in (a.started_ns, a.healed_ns, b.started_ns, b.healed_ns))
    assert load_start < a_at < a_healed < load_end
    assert load_start < b_at < load_end < b_healed
    assert [e["event"] for e in journalled(tmp_path)] == ["inject", "inject", "heal", "heal"]
    # the history has acknowledged messages, all delivered; the drain ran before the broker's state was read
    assert result.metrics["acknowledged"] > 0 and result.metrics["lost"] == 0
    assert json.loads((tmp_path / "broker-state.json").read_text())["held"] == 0
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["verdict"] == "pass" and saved["versions"]["standin-client"] == "1.0"
    assert (tmp_path / "report.html").exists()


def test_a_leader_pause_whose_leadership_moved_passes_and_one_that_never_moved_is_inconclusive(
        stage: Stage, tmp_path: Path) -> None:
    """Issue 17 end to end over the stand-in: its view moves orders/0 off a paused node 1 at once."""
    leader = [{"at": 0.4, "action": "pause", "target": "node(1)", "heal_after": 1.0}]
    _, moved = execute(scenario(faults=leader), tmp_path / "moved")
    assert moved.metrics["faults_without_effect"] == 0 and moved.verdict.verdict == "pass", moved.verdict
    STAGE.reset()
    # the same pause on a cluster whose view never moves anything: the run proved nothing
    stage.cluster_view = "frozen"
    _, frozen = execute(scenario(faults=leader), tmp_path / "frozen")
    assert frozen.metrics["faults_without_effect"] == 1 and frozen.verdict.verdict == "inconclusive", frozen.verdict
    saved = json.loads((tmp_path / "frozen" / "results.json").read_text())
    assert saved["verdict"] == "inconclusive"
    assert "stayed with standin-1" in json.dumps(saved["samples"]["fault_effects.effects"])


def test_the_brokers_own_count_goes_beside_the_ledgers_and_a_disagreement_is_a_run_error(
        stage: Stage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 17 point 8's wiring: Broker.recount, asked once the nodes have stopped."""
    counted: list[int] = []
    stopped: list[bool] = []

    def agreeing(spec: Any, run_dir: Path, acknowledged: Callable[[], set[int]]) -> dict[str, Any]:
        counted.append(len(acknowledged()))
        stopped.append("cluster stopped" in STAGE.journal)   # the logs are final only then
        return {"lost": 0, "log_duplicates": 0, "lost_ids": []}

    monkeypatch.setitem(BROKERS, KIND, dataclasses.replace(BROKER, recount=agreeing))
    _, agreed = execute(scenario(), tmp_path / "agreed")
    assert agreed.verdict.verdict == "pass" and counted and counted[0] == agreed.metrics["acknowledged"]
    assert agreed.second_opinion == {"lost": 0, "log_duplicates": 0, "lost_ids": [], "agree": True,
                                     "disagreement": None, "ledgers": {"lost": 0, "log_duplicates": 0}}
    assert stopped == [True]
    STAGE.reset()

    def disagreeing(spec: Any, run_dir: Path, acknowledged: Callable[[], set[int]]) -> dict[str, Any]:
        return {"lost": 2, "log_duplicates": 0, "lost_ids": [17, 18]}

    monkeypatch.setitem(BROKERS, KIND, dataclasses.replace(BROKER, recount=disagreeing))
    _, differed = execute(scenario(), tmp_path / "differed")
    assert differed.verdict.verdict == "error"
    assert differed.error is not None and "lost 2 by the logs, 0 by the ledgers" in differed.error
    assert "lost by the logs only: [17, 18]" in differed.error
    saved = json.loads((tmp_path / "differed" / "results.json").read_text())
    assert saved["second_opinion"]["agree"] is False


def test_a_fault_that_fails_to_inject_is_journalled_the_run_goes_on_and_the_verdict_fails(
        stage: Stage, tmp_path: Path) -> None:
    stage.hooks["pause standin-2"] = raising(RuntimeError("SIGSTOP refused"))
    _, result = execute(scenario(), tmp_path)
    events = journalled(tmp_path)
    assert events[0]["event"] == "error" and "SIGSTOP refused" in events[0]["error"]
    assert "pause standin-3" in stage.journal and "positions" in stage.journal   # B fired, the drain ran
    assert result.error is None and result.metrics["faults_failed"] == 1
    assert result.verdict.verdict == "fail"
    assert [e.name for e in result.verdict.expectations if not e.ok] == ["faults_failed"]
    assert_everything_stopped(stage)


PHASES = {   # phase -> the journal event inside it at which the SIGTERM comes, and what must not have run
    "cluster start": ("cluster ready", "pause standin-2"),
    "load": ("resume standin-2", "positions"),          # A's heal during the load; B in force
    "heal": ("resume standin-3", "positions"),          # B's heal by the heal phase
    "drain": ("backlog", "positions"),                  # asked only inside the drain loop
    "broker state": ("positions", None),                # what the broker holds, read after the drain
}


@pytest.mark.parametrize("phase", PHASES)
def test_a_sigterm_during_each_phase_ends_the_run_as_error_with_everything_healed_and_stopped(
        stage: Stage, tmp_path: Path, phase: str) -> None:
    event, not_reached = PHASES[phase]
    stage.hooks[event] = sigterm
    stage.deliver = phase != "drain"   # with nothing delivered the drain waits, and asks the backlog
    _, result = execute(scenario(), tmp_path)
    assert event in stage.journal and (not_reached is None or not_reached not in stage.journal), stage.journal
    assert not (tmp_path / "broker-state.json").exists()   # no held figure is written for an interrupted run
    assert result.verdict.verdict == "error"
    assert result.error is not None and result.error.startswith("interrupted by SIGTERM")
    assert_everything_stopped(stage)
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["verdict"] == "error" and saved["error"].startswith("interrupted by SIGTERM")
    injected = [e for e in journalled(tmp_path) if e["event"] == "inject"]
    healed = [e for e in journalled(tmp_path) if e["event"] == "heal"]
    assert len(healed) == len(injected) == (0 if phase == "cluster start" else 2)


def test_an_unplanned_exit_of_a_node_is_journalled_and_makes_the_run_an_error(stage: Stage, tmp_path: Path) -> None:
    stage.hooks["pause standin-3"] = lambda: stage.cluster.nodes[1].crash() if stage.cluster else None
    _, result = execute(scenario(), tmp_path)
    exits = [e for e in journalled(tmp_path) if e["event"] == "exit"]
    assert [e["process"] for e in exits] == ["standin-1"]
    assert result.verdict.verdict == "error" and result.error is not None and "standin-1" in result.error
    assert [e["process"] for e in result.process_exits] == ["standin-1"]
    assert "positions" not in stage.journal      # noticed during the load: no drain after it
    assert_everything_stopped(stage)


def test_a_cluster_that_fails_to_start_exits_what_came_before_it_and_starts_nothing_after(
        stage: Stage, tmp_path: Path) -> None:
    stage.hooks["cluster starting"] = raising(ClusterError("the stand-in refused to start"))
    _, result = execute(scenario(), tmp_path)
    assert stage.journal == ["network up", "runtime up", "cluster built", "cluster starting", "cluster stopped",
                             "runtime down", "network down"]
    assert result.verdict.verdict == "error" and result.error == "the stand-in refused to start"
    for never in ("consumers/patterns.json", "load-config.json", "faults.jsonl"):
        assert not (tmp_path / never).exists(), never
    assert json.loads((tmp_path / "results.json").read_text())["error"] == "the stand-in refused to start"
