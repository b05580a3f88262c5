"""A signal never cuts a resource's teardown short: during the body it unwinds the run's stack
once; during the unwinding it is held until every exit has run, then reported as an interrupt
(the interrupt soak saw a RabbitMQ cluster's epmd daemons outlive a SIGINT during `stopping`)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from harness.errors import ClusterError, Interrupted
from harness.interrupts import Interrupts


def _signal_self(sig: signal.Signals, done: list[str], name: str) -> None:
    os.kill(os.getpid(), sig)   # the handler runs before the next line
    done.append(name)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_during_the_teardown_lets_every_exit_finish_then_interrupts(sig: signal.Signals) -> None:
    interrupts, done = Interrupts(), []
    before = signal.getsignal(sig)   # not always Python's default: a shell's background job ignores SIGINT
    with pytest.raises(Interrupted, match=f"interrupted by {sig.name}"):
        with interrupts.installed(), interrupts.teardown_held() as stack:
            stack.callback(done.append, "network")
            stack.callback(_signal_self, sig, done, "epmd stopped")   # the cluster's exit, signalled midway
    assert done == ["epmd stopped", "network"]
    assert signal.getsignal(sig) == before   # handlers restored


def test_a_signal_during_the_body_unwinds_once_and_a_second_is_ignored() -> None:
    interrupts, done = Interrupts(), []
    with pytest.raises(Interrupted, match="SIGTERM"):
        with interrupts.installed(), interrupts.teardown_held() as stack:
            stack.callback(done.append, "network")
            stack.callback(_signal_self, signal.SIGINT, done, "cluster stopped")   # a second signal
            os.kill(os.getpid(), signal.SIGTERM)
            done.append("never")
    assert done == ["cluster stopped", "network"]


def test_an_error_unwinding_the_stack_stands_when_a_signal_comes_during_its_teardown() -> None:
    interrupts, done = Interrupts(), []
    with pytest.raises(ClusterError, match="broker gone"):
        with interrupts.installed(), interrupts.teardown_held() as stack:
            stack.callback(_signal_self, signal.SIGINT, done, "cluster stopped")
            raise ClusterError("broker gone")
    assert done == ["cluster stopped"]


def test_a_signal_while_the_result_is_checked_and_written_gives_an_interrupted_result(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGTERM after the teardown, while the history was checked, killed the run with no
    results.json (interrupt soak, SOAK_SEED=1 cases 30 and 39): now it is held, and the run is
    reported interrupted."""
    from rich.console import Console

    from harness import run as run_module
    from harness.paths import REPO
    from harness.scenario import load_scenario

    scenario = load_scenario(REPO / "scenarios" / "kafka-leader-kill-acks-all.yaml")
    run = run_module.Run(scenario, tmp_path / "run", Console(file=open(os.devnull, "w")))
    monkeypatch.setattr(run_module, "cleanup", lambda: [])
    monkeypatch.setattr(run_module.Run, "_run_phases", lambda self: None)
    real_result = run_module.Run._result

    def result_signalled(self, *args):  # type: ignore[no-untyped-def]  # wraps Run._result as it is
        os.kill(os.getpid(), signal.SIGTERM)
        return real_result(self, *args)

    monkeypatch.setattr(run_module.Run, "_result", result_signalled)
    result = run.execute()
    assert result.error is not None and result.error.startswith("interrupted by SIGTERM")
    assert (tmp_path / "run" / "results.json").exists()
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


def test_a_signal_inside_a_duckdb_query_is_an_interrupt_not_a_harness_error(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """DuckDB runs the signal handler, drops the Interrupted it raises and raises its own
    RuntimeError('Query interrupted') (interrupt soak, SOAK_SEED=1: SIGINT 0.1 s into the drain gave
    exit 1 and 'harness error'): the run is reported interrupted, exit 130, with its results."""
    import threading

    import duckdb
    from rich.console import Console

    from harness import run as run_module
    from harness.cli import _exit_status
    from harness.paths import REPO
    from harness.scenario import load_scenario

    scenario = load_scenario(REPO / "scenarios" / "kafka-leader-kill-acks-all.yaml")
    run = run_module.Run(scenario, tmp_path / "run", Console(file=open(os.devnull, "w")))
    monkeypatch.setattr(run_module, "cleanup", lambda: [])

    def long_query(self: object) -> None:
        threading.Timer(0.3, os.kill, (os.getpid(), signal.SIGINT)).start()
        with duckdb.connect() as conn:
            conn.execute("SELECT count(*) FROM range(10000000000) a, range(10) b").fetchall()

    monkeypatch.setattr(run_module.Run, "_run_phases", long_query)
    result = run.execute()
    assert result.error is not None and result.error.startswith("interrupted by SIGINT"), result.error
    assert result.verdict.verdict == "error" and _exit_status([result]) == 130
    assert (tmp_path / "run" / "results.json").exists()
