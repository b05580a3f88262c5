"""The fault injector on stand-ins (tests/unit/fault_standins.py) and a hand-moved clock: when faults
fire and heal, what the journal says, failures of a fault or its heal, and what an error or an
interrupt at each point leaves healed."""

from __future__ import annotations

import contextlib
from pathlib import Path

import pytest
from fault_standins import Rig

from harness.check.faults import FaultChecker
from harness.check.history import History
from harness.errors import ClusterError, Interrupted
from harness.faults import env as env_module
from harness.plan import Schedule, plan
from harness.scenario.loader import parse_scenario

HEAD = """\
name: t
seed: 7
target: {kind: kafka, nodes: 3}
network: {isolation: namespaces}
load: {duration: 60s}
faults:
"""


def schedule(*faults: str) -> Schedule:
    return plan(parse_scenario(HEAD + "".join(f"  - {{{f}}}\n" for f in faults)))


@pytest.fixture
def rig_for(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(env_module, "RESOLVE_TIMEOUT", 0.0)   # an unresolvable selector fails at once

    def make(*faults: str, **options) -> Rig:
        return Rig(schedule(*faults), tmp_path / "faults.jsonl", monkeypatch, **options)

    return make


def faults_metrics(rig: Rig) -> dict:
    ledger = rig.journal.parent / "ledger"
    ledger.mkdir(exist_ok=True)
    with History(ledger) as history:
        return FaultChecker().check(history).metrics


# -- when faults fire and heal ---------------------------------------------------------------------

def test_faults_fire_in_schedule_order_at_their_offsets_and_not_before(rig_for) -> None:
    rig = rig_for("at: 20s, action: pause, target: node(3)",
                  "at: 10s, action: kill, target: node(1)",
                  "at: 12s, action: stop, target: node(2)")
    rig.tick_at(9.999)
    assert rig.calls == [] and rig.journalled() == []
    rig.tick_at(10.0)
    assert rig.acted() == [("kill", "kafka-1")]
    rig.tick_at(11.999)
    assert rig.acted() == [("kill", "kafka-1")]
    rig.tick_at(12.0)
    rig.tick_at(20.0)
    assert rig.acted() == [("kill", "kafka-1"), ("terminate", "kafka-2"), ("pause", "kafka-3")]
    assert [(r.action, r.planned_at, r.started_s) for r in rig.injector.records] == [
        ("kill", 10.0, 10.0), ("stop", 12.0, 12.0), ("pause", 20.0, 20.0)]


def test_a_late_tick_fires_every_fault_due_in_schedule_order(rig_for) -> None:
    rig = rig_for("at: 20s, action: pause, target: node(3)",
                  "at: 10s, action: kill, target: node(1)",
                  "at: 30s, action: kill, target: node(2)")
    rig.tick_at(25.0)
    assert rig.acted() == [("kill", "kafka-1"), ("pause", "kafka-3")]
    assert [r.started_s for r in rig.injector.records] == [25.0, 25.0]   # when they really fired


def test_each_fault_is_journalled_with_an_inject_and_a_heal_record(rig_for) -> None:
    rig = rig_for("at: 10s, action: kill, target: node(1), heal_after: 5s")
    rig.tick_at(10.0)
    rig.tick_at(15.0)
    inject, heal = rig.journalled()
    start_ns, heal_ns = Rig.LOAD_START_NS + 10 * 10**9, Rig.LOAD_START_NS + 15 * 10**9
    assert inject == {"event": "inject", "ts_ns": start_ns, "index": 0, "action": "kill", "target": "node(1)",
                      "planned_at": 10.0, "origin": "faults", "resolved": ["kafka-1"], "started_s": 10.0,
                      "started_ns": start_ns, "healed_s": None, "healed_ns": None, "error": None,
                      # a killed broker's leadership moves once a new controller fences it (issue 17)
                      "required": True, "effect_within_s": 12.0, "checks": []}
    assert heal == {**inject, "event": "heal", "ts_ns": heal_ns, "healed_s": 15.0, "healed_ns": heal_ns}
    assert faults_metrics(rig) == {"faults_injected": 1, "faults_failed": 0}


def test_heal_after_heals_at_its_time_and_not_before(rig_for) -> None:
    rig = rig_for("at: 10s, action: pause, target: node(2), heal_after: 5s")
    rig.tick_at(10.0)
    rig.tick_at(14.999)
    assert rig.acted() == [("pause", "kafka-2")]
    rig.tick_at(15.0)
    assert rig.acted() == [("pause", "kafka-2"), ("resume", "kafka-2")]
    assert rig.injector.active == []
    assert rig.injector.records[0].healed_s == 15.0


def test_a_heal_due_before_a_later_injection_seen_in_the_same_tick_comes_first(rig_for) -> None:
    """kill node(1) healed at 15 s, killed again at 15.1 s, one slow tick sees both: the second kill
    must hit the restarted node, not a dead one that the first heal then brings back."""
    rig = rig_for("at: 10s, action: kill, target: node(1), heal_after: 5s",
                  "at: 15.1s, action: kill, target: node(1)")
    rig.tick_at(10.0)
    rig.tick_at(15.3)
    assert rig.acted() == [("kill", "kafka-1"), ("start", "kafka-1"), ("kill", "kafka-1")]
    assert not rig.node(1).alive


def test_a_fault_healed_and_another_injected_at_the_same_time_heal_first(rig_for) -> None:
    rig = rig_for("at: 10s, action: pause, target: node(1), heal_after: 5s",
                  "at: 15s, action: pause, target: node(1), heal_after: 5s")
    rig.tick_at(10.0)
    rig.tick_at(15.0)
    assert rig.acted() == [("pause", "kafka-1"), ("resume", "kafka-1"), ("pause", "kafka-1")]
    assert rig.node(1).paused


def test_heals_one_late_tick_sees_come_in_order_of_their_heal_times(rig_for) -> None:
    rig = rig_for("at: 10s, action: pause, target: node(1), heal_after: 10s",
                  "at: 12s, action: pause, target: node(2), heal_after: 2s")
    rig.tick_at(12.0)
    rig.tick_at(25.0)
    assert rig.acted()[2:] == [("resume", "kafka-2"), ("resume", "kafka-1")]


def test_a_restart_is_journalled_once_and_never_healed(rig_for) -> None:
    rig = rig_for("at: 5s, action: restart, target: controller")
    rig.tick_at(5.0)
    rig.injector.heal_all()
    assert rig.acted() == [("terminate", "kafka-1"), ("start", "kafka-1")]
    assert [e["event"] for e in rig.journalled()] == ["inject"]
    record = rig.injector.records[0]
    assert (record.resolved, record.healed_s) == (["kafka-1"], 5.0)


# -- the final heal --------------------------------------------------------------------------------

def test_heal_all_heals_what_is_in_force_in_reverse_order_of_injection(rig_for) -> None:
    rig = rig_for("at: 10s, action: kill, target: node(1)",
                  "at: 11s, action: down, link: producer->node(2)",
                  "at: 12s, action: pause, target: node(3), heal_after: 1s",
                  "at: 14s, action: partition, mode: isolate, target: node(3)",
                  "at: 15s, action: pause, target: consumer(2)")
    for t in (10, 11, 12, 13, 14, 15):
        rig.tick_at(t)
    del rig.calls[:]
    rig.set_time(20.0)
    rig.injector.heal_all()
    assert rig.network.grudges == {}
    assert [c[0] for c in rig.acted()] == ["resume", "heal partition", "set_enabled", "start"]
    assert rig.acted()[0] == ("resume", "consumer-2") and rig.acted()[2] == ("set_enabled", "producer-n2", True)
    assert [e["index"] for e in rig.journalled() if e["event"] == "heal"] == [2, 4, 3, 1, 0]
    assert all(r.healed_s is not None for r in rig.injector.records)


def test_heal_all_is_idempotent(rig_for) -> None:
    rig = rig_for("at: 10s, action: kill, target: node(1)",
                  "at: 11s, action: latency, link: client->any, latency: 50ms")
    rig.tick_at(11.0)
    rig.injector.heal_all()
    calls, journal, events = list(rig.calls), rig.journalled(), list(rig.events)
    rig.injector.heal_all()
    with rig.injector:
        pass
    assert (rig.calls, rig.journalled(), rig.events) == (calls, journal, events)
    assert rig.proxies.client.toxics == {}


def test_a_fault_not_yet_due_when_the_run_ends_is_neither_fired_nor_healed(rig_for) -> None:
    rig = rig_for("at: 10s, action: kill, target: node(1)", "at: 50s, action: kill, target: node(2)")
    rig.tick_at(10.0)
    rig.injector.heal_all()
    assert rig.acted() == [("kill", "kafka-1"), ("start", "kafka-1")]
    assert [r.index for r in rig.injector.records] == [0]


# -- what each fault kind does and undoes ----------------------------------------------------------

def test_a_link_fault_adds_its_toxic_on_every_proxy_and_stream_it_crosses_and_removes_them_on_heal(rig_for) -> None:
    rig = rig_for("at: 1s, action: latency, link: client->node(2), latency: 200ms, jitter: 50ms, heal_after: 4s")
    rig.tick_at(1.0)
    toxics = rig.proxies.client.toxics
    assert sorted((proxy, stream) for (proxy, _), (_, stream, _) in toxics.items()) == [
        ("consumer1-n2", "downstream"), ("consumer1-n2", "upstream"),
        ("producer-n2", "downstream"), ("producer-n2", "upstream")]
    assert {kind for kind, _, _ in toxics.values()} == {"latency"}
    assert {a["latency"] for _, _, a in toxics.values()} == {200}
    assert rig.injector.records[0].resolved == ["consumer1-n2", "producer-n2"]
    rig.tick_at(5.0)
    assert toxics == {}


def test_a_leader_partition_cuts_off_the_node_leading_at_injection_and_heals_its_own_rules(rig_for) -> None:
    rig = rig_for('at: 1s, action: partition, mode: isolate, target: "leader(orders, 0)", heal_after: 2s')
    rig.cluster.leaders[("orders", "0")] = 2
    rig.tick_at(1.0)
    (grudge,) = rig.network.grudges.values()
    assert grudge[2] == frozenset({1, 3}) and 2 in grudge[1] and 2 in grudge[3]
    assert "leader_of" in [c[0] for c in rig.calls]
    rig.tick_at(3.0)
    assert rig.network.grudges == {}


def test_a_partition_measures_itself_after_it_strikes_and_after_it_heals(rig_for) -> None:
    rig = rig_for('at: 1s, action: partition, mode: isolate, target: "node(2)", heal_after: 2s')
    rig.tick_at(1.0)
    rig.tick_at(3.0)
    checks = [e for e in rig.journalled() if e["event"] == "verify"]
    assert [(c["phase"], c["ok"]) for c in checks] == [("inject", True), ("heal", True)]
    assert "blocked node(1)-node(2), node(2)-node(3)" in checks[0]["detail"]
    assert checks[1]["detail"].startswith("every pair reachable")
    assert [c["phase"] for c in rig.injector.records[0].checks] == ["inject", "heal"]


def test_a_partition_whose_rules_did_not_take_is_a_failed_check_said_at_once(rig_for) -> None:
    from harness.network.probes import Reachability, intended

    rig = rig_for('at: 1s, action: partition, mode: isolate, target: "node(2)", heal_after: 2s')

    def all_open(extra: object = None) -> Reachability:   # rules applied, packets still flowing
        wanted = intended([0, 1, 2, 3], rig.network.grudges[next(iter(rig.network.grudges))])
        return Reachability({pair: True for pair in wanted}, wanted)

    rig.network.reachability = all_open
    rig.tick_at(1.0)
    (check,) = [e for e in rig.journalled() if e["event"] == "verify"]
    assert check["ok"] is False and "node(1)-node(2) reachable, meant blocked" in check["detail"]
    assert any("not in force as meant" in event for event in rig.events)


def test_a_partition_that_cannot_be_measured_is_a_failed_check_too(rig_for) -> None:
    rig = rig_for('at: 1s, action: partition, mode: isolate, target: "node(2)", heal_after: 2s')

    def broken(extra: object = None) -> None:
        raise OSError("no such namespace")

    rig.network.reachability = broken
    rig.tick_at(1.0)
    (check,) = [e for e in rig.journalled() if e["event"] == "verify"]
    assert check["ok"] is False and check["detail"] == "could not measure: OSError: no such namespace"


def test_a_kill_heal_starts_the_node_only_if_it_is_still_down(rig_for) -> None:
    rig = rig_for("at: 1s, action: kill, target: node(1), heal_after: 5s")
    rig.tick_at(1.0)
    rig.node(1).alive = True      # brought back by someone else meanwhile
    rig.tick_at(6.0)
    assert rig.acted() == [("kill", "kafka-1")]


# -- a fault or its heal that fails ----------------------------------------------------------------

def test_a_fault_whose_injection_raises_is_journalled_as_failed_and_later_faults_still_fire(rig_for) -> None:
    rig = rig_for("at: 10s, action: kill, target: node(1)", "at: 12s, action: kill, target: node(2)")
    rig.node(1).trap("kill", ProcessLookupError("no such process"))
    rig.tick_at(10.0)
    rig.tick_at(12.0)
    failed, injected = rig.journalled()
    assert (failed["event"], failed["index"], failed["error"]) == ("error", 0, "ProcessLookupError: no such process")
    assert (injected["event"], injected["index"], injected["error"]) == ("inject", 1, None)
    assert not rig.node(2).alive
    assert faults_metrics(rig) == {"faults_injected": 1, "faults_failed": 1}


def test_a_failed_injection_counts_once_in_faults_failed_even_after_its_heal(rig_for) -> None:
    """The heal record of a fault that failed to fire carries the injection's error: it is the same
    failure, not a second one (a scenario allowing `faults_failed: {max: 1}` failed on one)."""
    rig = rig_for("at: 10s, action: kill, target: node(1), heal_after: 5s")
    rig.node(1).trap("kill", ProcessLookupError("no such process"))
    rig.tick_at(10.0)
    rig.tick_at(15.0)
    assert [e["event"] for e in rig.journalled()] == ["error", "heal"]
    assert faults_metrics(rig) == {"faults_injected": 0, "faults_failed": 1}


def test_what_a_failed_injection_managed_to_do_is_still_undone_at_heal_time(rig_for) -> None:
    rig = rig_for("at: 1s, action: latency, link: client->node(1), latency: 100ms")
    rig.proxies.client.trap("add_toxic", ConnectionError("toxiproxy went away"), after=1)
    rig.tick_at(1.0)
    assert len(rig.proxies.client.toxics) == 1
    assert rig.injector.records[0].error == "ConnectionError: toxiproxy went away"
    rig.injector.heal_all()
    assert rig.proxies.client.toxics == {}


def test_a_heal_that_raises_is_journalled_with_its_error_and_the_other_heals_go_on(rig_for) -> None:
    rig = rig_for("at: 1s, action: kill, target: node(1)", "at: 2s, action: kill, target: node(2)")
    rig.tick_at(2.0)
    rig.node(2).trap("start", OSError("exec failed"))
    rig.injector.heal_all()
    heals = [e for e in rig.journalled() if e["event"] == "heal"]
    assert [(e["index"], e["error"]) for e in heals] == [(1, "heal failed: OSError: exec failed"), (0, None)]
    assert rig.node(1).alive and rig.injector.active == []
    assert faults_metrics(rig) == {"faults_injected": 2, "faults_failed": 1}


@pytest.mark.parametrize("fault,setup,reason", [
    ('action: kill, target: "leader(orders, 0)"', lambda rig: None, "orders/0 has no leader right now"),
    ("action: pause, target: controller", lambda rig: setattr(rig.cluster, "active_controller", None),
     "waiting for an active controller"),
    ("action: down, link: consumer->any", lambda rig: setattr(rig, "proxies", None),
     "link faults need the Toxiproxy network"),
    ("action: down, link: consumer(2)->any", lambda rig: None, "link consumer(2)->any crosses no proxy"),
    ("action: partition, mode: halves", lambda rig: setattr(rig, "network", None),
     "partitions need network: {isolation: namespaces}"),
])
def test_a_fault_whose_target_resolves_to_nothing_fails_with_the_reason(rig_for, fault, setup, reason) -> None:
    rig = rig_for(f"at: 1s, {fault}")
    setup(rig)
    rig.tick_at(1.0)
    (event,) = rig.journalled()
    assert event["event"] == "error" and reason in event["error"]
    assert rig.acted() == []
    assert reason in rig.events[0] and rig.events[0].startswith("[red]fault failed[/]")
    assert faults_metrics(rig)["faults_failed"] == 1


# -- leaving the injector: errors and interrupts ---------------------------------------------------

def test_leaving_the_injector_context_heals_every_fault_in_force(rig_for) -> None:
    rig = rig_for("at: 1s, action: kill, target: node(1)", "at: 2s, action: pause, target: node(2)")
    with rig.injector:
        rig.tick_at(2.0)
    assert rig.acted()[2:] == [("resume", "kafka-2"), ("start", "kafka-1")]


@pytest.mark.parametrize("error", [ClusterError("load died"), KeyboardInterrupt(),
                                   Interrupted("interrupted by SIGINT")],
                         ids=["error", "KeyboardInterrupt", "Interrupted"])
def test_an_error_or_interrupt_between_ticks_heals_every_fault_before_the_cluster_stops(rig_for, error) -> None:
    rig = rig_for("at: 1s, action: kill, target: node(1)", "at: 2s, action: latency, link: client->any, latency: 1s")
    with pytest.raises(type(error)), contextlib.ExitStack() as stack:   # the run's order: cluster, then faults
        stack.enter_context(rig.cluster)
        stack.enter_context(rig.injector)
        rig.tick_at(2.0)
        raise error
    after = [c[0] for c in rig.acted()][rig.acted().index(("kill", "kafka-1")) + 1:]
    assert after[-2:] == ["start", "cluster stopped"]
    assert set(after[:-2]) == {"add_toxic", "remove_toxic"} and rig.proxies.client.toxics == {}


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt(), Interrupted("interrupted by SIGTERM")],
                         ids=["KeyboardInterrupt", "Interrupted"])
def test_an_interrupt_during_an_injection_unwinds_and_what_it_did_is_healed_before_the_cluster_stops(
        rig_for, interrupt) -> None:
    """Interrupted is what the run's SIGINT/SIGTERM handler raises, on this thread, wherever it is:
    taken for a failed fault, it left the run going (and every later signal ignored)."""
    rig = rig_for("at: 1s, action: kill, target: node(1)", "at: 2s, action: latency, link: client->any, latency: 1s",
                  "at: 3s, action: kill, target: node(2)")
    rig.proxies.client.trap("add_toxic", interrupt, after=2)
    with pytest.raises(type(interrupt)), contextlib.ExitStack() as stack:
        stack.enter_context(rig.cluster)
        stack.enter_context(rig.injector)
        rig.tick_at(1.0)
        rig.tick_at(3.0)
    assert rig.proxies.client.toxics == {}
    assert rig.node(1).alive and rig.node(2).alive        # the fault after the interrupt never fired
    assert ("kill", "kafka-2") not in rig.calls
    assert rig.acted()[-2:] == [("start", "kafka-1"), ("cluster stopped",)]
    assert rig.injector.records[1].error == f"{type(interrupt).__name__}: {interrupt}"


def test_an_interrupt_while_a_leader_is_looked_up_unwinds_the_run(rig_for, monkeypatch) -> None:
    monkeypatch.setattr(env_module, "RESOLVE_TIMEOUT", 1.0)    # the look-up would be retried meanwhile
    rig = rig_for('at: 1s, action: kill, target: "leader(orders, 0)"')

    def interrupted(*args: str) -> int:
        raise Interrupted("interrupted by SIGINT")

    rig.cluster.leader_of = interrupted
    with pytest.raises(Interrupted), rig.injector:
        rig.tick_at(1.0)
    assert rig.acted() == []


def test_an_interrupt_during_a_heal_at_its_time_unwinds_and_the_final_heal_does_it(rig_for) -> None:
    rig = rig_for("at: 1s, action: pause, target: node(1), heal_after: 2s")
    rig.node(1).trap("resume", Interrupted("interrupted by SIGINT"))
    with pytest.raises(Interrupted), contextlib.ExitStack() as stack:
        stack.enter_context(rig.cluster)
        stack.enter_context(rig.injector)
        rig.tick_at(1.0)
        rig.tick_at(3.0)
    assert rig.acted() == [("pause", "kafka-1"), ("resume", "kafka-1"), ("resume", "kafka-1"), ("cluster stopped",)]
    assert not rig.node(1).paused
    heal = [e for e in rig.journalled() if e["event"] == "heal"]
    assert [(e["index"], e["error"]) for e in heal] == [(0, None)]


# -- progress --------------------------------------------------------------------------------------

def test_progress_hears_of_each_injection_failure_and_heal(rig_for) -> None:
    rig = rig_for("at: 1s, action: kill, target: node(1), heal_after: 1s", "at: 3s, action: pause, target: node(2)")
    rig.node(2).trap("pause", OSError("no permission"))
    rig.tick_at(1.0)
    rig.tick_at(2.0)
    rig.tick_at(3.0)
    rig.injector.heal_all()
    assert rig.events == ["[yellow]kill[/] node(1) -> kafka-1",
                          "[green]heal[/] kill kafka-1",
                          "[red]fault failed[/] pause node(2): OSError: no permission",
                          "[green]heal[/] pause node(2)"]


def test_a_fault_whose_target_takes_seconds_to_resolve_is_recorded_when_it_bit_and_lasts_its_time(rig_for) -> None:
    """Seen on RabbitMQ 4.3: leader(orders) took 17 s of rabbitmqctl timeouts to resolve after a kill,
    the partition then bit at 33 s of a 30 s load, was healed 0.25 s later as already due, and the
    record said 16 s to 33 s."""
    rig = rig_for("at: 16s, action: kill, target: 'leader(orders, 0)', heal_after: 9s")
    rig.cluster.leaders[("orders", "0")] = 2
    asked = rig.cluster.leader_of

    def slow_leader_of(*args: str) -> int:
        rig.now_ns += 7 * 10**9   # the cluster takes 7 s to say who leads
        return asked(*args)

    rig.cluster.leader_of = slow_leader_of
    rig.tick_at(16.0)
    (record,) = rig.injector.records
    assert (record.planned_at, record.started_s) == (16.0, 23.0)   # when it bit, not when it was asked for
    assert any("took effect 7.0s late" in event for event in rig.events), rig.events
    rig.tick_at(31.999)
    assert record.healed_s is None                                  # its 9 s run from when it bit
    rig.tick_at(32.0)
    assert record.healed_s == 32.0
