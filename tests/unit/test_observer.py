"""The cluster observer on an in-process view: it records what changed, a row per look (so a gap
shows), a failed look as a row, facts that vanished, looks at once when poked, and its ledger is a
view of the run's history."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from pathlib import Path

from harness.check.history import History
from harness.observer import GONE, ClusterObserver, Fact, View, text


class Cluster:
    """What a broker would report; changed by the test between looks."""

    def __init__(self) -> None:
        self.facts = [Fact("partition:orders/0", "leader", "1"), Fact("controller", "leader", "2")]
        self.fail = False
        self.opened = self.closed = 0

    @contextlib.contextmanager
    def observation(self) -> Iterator[View]:
        self.opened += 1
        try:
            yield self.view
        finally:
            self.closed += 1

    def view(self) -> list[Fact]:
        if self.fail:
            raise ConnectionError("broker down, retry")
        return list(self.facts)


def rows(ledger: Path) -> list[tuple]:
    with History(ledger) as history:
        return history.sql("SELECT subject, attribute, value FROM observations ORDER BY ts_ns, subject, attribute")


def test_only_changes_are_kept_with_a_row_per_look(tmp_path: Path) -> None:
    cluster = Cluster()
    with ClusterObserver(cluster.observation(), tmp_path / "cluster-observer.csv", interval=3600) as observer:
        observer.look()                                     # nothing changed: a sample row only
        cluster.facts[0] = Fact("partition:orders/0", "leader", "3")
        observer.look()
        cluster.facts = cluster.facts[:1]                   # the controller is no longer reported
        observer.look()
    found = rows(tmp_path)
    assert [r for r in found if r[0] != "observer"] == [
        ("controller", "leader", "2"), ("partition:orders/0", "leader", "1"),
        ("partition:orders/0", "leader", "3"), ("controller", "leader", GONE)]
    assert [r for r in found if r[0] == "observer"] == [("observer", "sample", "2"), ("observer", "sample", "2"),
                                                         ("observer", "sample", "2"), ("observer", "sample", "1"),
                                                         ("observer", "sample", "1")]   # the last: on exit
    assert cluster.opened == cluster.closed == 1


def test_a_failed_look_is_a_row_and_the_next_look_goes_on(tmp_path: Path) -> None:
    cluster = Cluster()
    with ClusterObserver(cluster.observation(), tmp_path / "cluster-observer.csv", interval=3600) as observer:
        cluster.fail = True
        observer.look()
        cluster.fail = False
        cluster.facts[0] = Fact("partition:orders/0", "leader", "2")
        observer.look()
        assert (observer.looks, observer.failed_looks) == (2, 1)
    found = rows(tmp_path)
    assert ("observer", "error", "ConnectionError: broker down; retry") in found
    assert ("partition:orders/0", "leader", "2") in found


def test_a_poke_makes_it_look_at_once(tmp_path: Path) -> None:
    cluster = Cluster()
    with ClusterObserver(cluster.observation(), tmp_path / "cluster-observer.csv", interval=3600) as observer:
        looks = observer.looks
        observer.poke()
        deadline = time.monotonic() + 5
        while observer.looks == looks and time.monotonic() < deadline:
            time.sleep(0.01)
        assert observer.looks == looks + 1


def test_it_looks_about_once_an_interval_on_its_own(tmp_path: Path) -> None:
    cluster = Cluster()
    with ClusterObserver(cluster.observation(), tmp_path / "cluster-observer.csv", interval=0.05) as observer:
        time.sleep(0.5)
    assert 4 <= observer.looks <= 13


def test_values_are_ledger_fields() -> None:
    assert text([1, 2, 3]) == "1;2;3"
    assert text({3, 1}) == "1;3"
    assert text(None) == "" and text(True) == "true"
    assert text("a,b\nc") == "a b c"
    assert text("kafka-\u00e9") == "kafka-?"


def test_a_look_that_hangs_leaves_an_error_row_per_deadline_and_no_second_look_meanwhile(tmp_path: Path) -> None:
    """A request a paused broker holds without answering: seen on a real run as 6 s with no row."""
    cluster = Cluster()
    hang = {"seconds": 0.0}
    calls = []

    def view() -> list[Fact]:
        calls.append(time.monotonic())
        seconds, hang["seconds"] = hang["seconds"], 0.0   # one look hangs
        time.sleep(seconds)
        return list(cluster.facts)

    @contextlib.contextmanager
    def observation() -> Iterator[View]:
        yield view

    ledger = tmp_path / "ledger"
    ledger.mkdir()
    with ClusterObserver(observation(), ledger / "cluster-observer.csv", interval=0.1, deadline=0.4) as observer:
        hang["seconds"] = 1.0
        observer.poke()
        time.sleep(1.6)
    found = rows(ledger)
    errors = [value for subject, attribute, value in found if attribute == "error"]
    assert errors[:2] == ["a look still running after 0.4s", "a look still running after 0.8s"], found
    # no look began while the hung one ran: the calls before and after it are a second apart
    assert any(later - earlier >= 0.95 for earlier, later in zip(calls, calls[1:])), calls
    assert observer.looks >= 3
