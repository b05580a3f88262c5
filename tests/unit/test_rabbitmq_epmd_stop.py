"""A run's epmd is stopped even when a node it lists was SIGKILLed a moment ago: epmd refuses
`-kill` while the node is still registered (seen in the interrupt soak: an epmd outlived a run
interrupted during its RabbitMQ start, after a booting node ignored SIGTERM and was killed)."""

from __future__ import annotations

import subprocess
from types import SimpleNamespace

import pytest

from harness.brokers.rabbitmq import cluster as rabbitmq
from harness.brokers.rabbitmq.cluster import RabbitCluster

REFUSED = "Killing not allowed - living nodes in database.\n"   # epmd's own words, exit 1


def _cluster() -> RabbitCluster:
    cluster = object.__new__(RabbitCluster)   # only what stopping epmd reads
    cluster.nodes = {1: None, 2: None}
    cluster.runtime = SimpleNamespace(isolated=False, exec_prefix=lambda i, env: [])
    cluster.epmd_port = 4399
    cluster._env = lambda i: {}
    return cluster


def _answers(monkeypatch: pytest.MonkeyPatch, outputs: list[str]) -> list[list[str]]:
    calls: list[list[str]] = []

    def run(argv: list[str], **kwargs: object) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        out = outputs.pop(0) if outputs else "Killed\n"
        return subprocess.CompletedProcess(argv, 1 if out == REFUSED else 0, stdout=out, stderr="")

    monkeypatch.setattr(rabbitmq.subprocess, "run", run)
    return calls


def test_epmd_refusing_kill_while_a_killed_node_is_registered_is_asked_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _answers(monkeypatch, [REFUSED, REFUSED, "Killed\n"])
    _cluster()._stop_epmd()
    assert calls == [["epmd", "-port", "4399", "-kill"]] * 3


def test_epmd_that_keeps_refusing_is_given_up_on_with_a_warning(monkeypatch: pytest.MonkeyPatch,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.setattr(rabbitmq, "EPMD_STOP_TIMEOUT", 0.6)
    calls = _answers(monkeypatch, [REFUSED] * 100)
    _cluster()._stop_epmd()
    assert 2 <= len(calls) <= 5
    assert "could not stop epmd on port 4399" in caplog.text
