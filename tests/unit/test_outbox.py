"""The transactional outbox and its relay, with a fake broker and a simulated relay crash."""

from __future__ import annotations

import itertools
import sqlite3
from pathlib import Path

import pytest

from harness.patterns.outbox import OutboxRow, OutboxStore, Relay


class Broker:
    """Keeps what was published; refuses the ids in `refuse`; `crash_after_ack` kills the relay
    after the broker acknowledged, before the relay could mark anything sent."""

    def __init__(self, refuse: set[int] = frozenset(), crash_after_ack: bool = False) -> None:  # type: ignore[assignment]  # never mutated
        self.log: list[int] = []
        self.refuse = set(refuse)
        self.crash_after_ack = crash_after_ack

    def __call__(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        acked = [r for r in rows if r.id not in self.refuse]
        self.log += [r.id for r in acked]
        if self.crash_after_ack:
            raise KeyboardInterrupt("relay killed")
        return acked


def clock() -> itertools.count[int]:
    return itertools.count(1000)


def test_commit_writes_the_record_and_the_outbox_row_together_or_not_at_all(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "outbox.db")
    store.commit(1, b"one", 10)
    with pytest.raises(sqlite3.IntegrityError):
        store.commit(1, b"again", 11)  # the business insert fails: no outbox row either
    assert store.counts() == (1, 0)
    assert [r.id for r in store.unsent(10)] == [1]


def test_the_relay_publishes_oldest_first_and_marks_rows_sent(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "outbox.db")
    for i in range(5):
        store.commit(i, f"m{i}".encode(), i)
    broker = Broker()
    ticks = clock()
    relay = Relay(store, broker, lambda: next(ticks), batch=3)
    assert relay.step() == (3, 3)
    assert relay.step() == (2, 2)
    assert relay.step() == (0, 0)
    assert broker.log == [0, 1, 2, 3, 4]
    assert store.counts() == (5, 5)


def test_rows_the_broker_refused_stay_unsent_and_are_tried_again(tmp_path: Path) -> None:
    store = OutboxStore(tmp_path / "outbox.db")
    for i in range(3):
        store.commit(i, b"x", i)
    broker = Broker(refuse={1})
    ticks = clock()
    relay = Relay(store, broker, lambda: next(ticks))
    assert relay.step() == (3, 2)
    assert [r.id for r in store.unsent(10)] == [1]
    broker.refuse.clear()
    assert relay.step() == (1, 1)
    assert sorted(broker.log) == [0, 1, 2] and store.counts() == (3, 3)


def test_a_relay_killed_after_the_ack_republishes_on_restart_and_loses_nothing(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    store = OutboxStore(path)
    for i in range(4):
        store.commit(i, b"x", i)
    broker = Broker(crash_after_ack=True)
    ticks = clock()
    with pytest.raises(KeyboardInterrupt):
        Relay(store, broker, lambda: next(ticks), batch=2).step()
    store.close()
    # a new relay process: a fresh connection to the same file
    restarted = OutboxStore(path)
    broker.crash_after_ack = False
    relay = Relay(restarted, broker, lambda: next(ticks), batch=2)
    while relay.step()[0]:
        pass
    assert broker.log == [0, 1, 0, 1, 2, 3]  # 0 and 1 twice: at-least-once, never lost
    assert restarted.counts() == (4, 4)


def write(path: Path, rows: list[str]) -> None:
    path.write_text("".join(row + "\n" for row in rows))


def test_outbox_checker_counts_committed_published_republished_and_lost(tmp_path: Path) -> None:
    from harness.check.history import History
    from harness.check.outbox import OutboxChecker

    ms = 1_000_000
    # ids 1-4 committed; the relay published 1, 2, 3 (2 twice: killed before marking it sent); 4 never
    write(tmp_path / "sends-load.csv", [f"A,{i},{i * ms},,," for i in (1, 2, 3, 4)]
          + [f"C,{i},{i * ms},,," for i in (1, 2, 3, 4)])
    write(tmp_path / "sends-relay-10.csv", [f"K,1,{11 * ms},0,0,", f"K,2,{12 * ms},0,1,"])
    write(tmp_path / "sends-relay-11.csv", [f"K,2,{30 * ms},0,2,", f"K,3,{33 * ms},0,3,"])
    write(tmp_path / "deliveries-1.csv", [f"1,0,0,{40 * ms},1,0", f"2,0,1,{41 * ms},1,0", f"2,0,2,{42 * ms},1,0"])
    with History(tmp_path) as h:
        finding = OutboxChecker().check(h)
    assert finding.metrics["outbox_committed"] == 4
    assert finding.metrics["outbox_published"] == 3
    assert finding.metrics["outbox_unpublished"] == 1
    assert finding.metrics["outbox_republished"] == 1
    assert finding.metrics["outbox_lost"] == 2  # 3 was published but never delivered, 4 never published
    assert [row["id"] for row in finding.samples["lost"]] == [3, 4]
    assert 10.0 <= finding.metrics["outbox_relay_lag_p99_ms"] <= 30.0


def test_without_an_outbox_its_figures_are_unknown(tmp_path: Path) -> None:
    from harness.check.history import History
    from harness.check.outbox import OutboxChecker

    write(tmp_path / "sends-load.csv", ["A,1,1,,,", "K,1,2,0,0,"])
    with History(tmp_path) as h:
        assert set(OutboxChecker().check(h).metrics.values()) == {None}


def test_the_drain_waits_for_committed_rows_not_yet_delivered(tmp_path: Path) -> None:
    from harness.check.delivery import outstanding
    from harness.check.history import History

    write(tmp_path / "sends-load.csv", ["A,1,1,,,", "C,1,2,,,", "A,2,1,,,", "C,2,2,,,"])
    write(tmp_path / "deliveries-1.csv", ["1,0,0,5,1,0"])
    with History(tmp_path) as h:
        assert outstanding(h) == 1


def test_the_relay_never_loads_locust_or_gevent() -> None:
    """Importing Locust monkey-patches the process with gevent; the relay's threaded Kafka client
    then hangs in its bootstrap (seen for real). Guard the import graph."""
    import subprocess
    import sys

    relay_dir = Path(__file__).parents[2] / "targets" / "producers"
    probe = (f"import sys; sys.path.insert(0, {str(relay_dir)!r}); import outbox_relay; "
             "print(sorted(m for m in ('gevent', 'locust') if m in sys.modules))")
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
