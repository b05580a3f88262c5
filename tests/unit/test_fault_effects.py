"""Issue 17 points 2-3 on a synthetic record: a fault on a leader proved something only if the
cluster's own view shows its leadership move (or stop) before the heal; otherwise the run that
would pass is inconclusive (exit 3, JUnit skipped), and without any record the figure is unknown."""

from __future__ import annotations

import json
from pathlib import Path

from harness.check.effects import FaultEffectChecker
from harness.check.history import History
from harness.cli import EXIT_INCONCLUSIVE, _exit_status
from harness.judge import expectations, judge
from harness.report.junit import junit_xml
from harness.results import RunResult
from harness.scenario.loader import parse_scenario

S = 1_000_000_000


def record(tmp_path: Path, observations: list[str], faults: list[dict]) -> Path:
    ledger = tmp_path / "ledger"
    ledger.mkdir()
    (ledger / "sends-0.csv").write_text(f"A,1,{10 * S},,,\nK,1,{10 * S + 1},0,0,\n")
    (ledger / "cluster-observer.csv").write_text("".join(f"{row}\n" for row in observations))
    (tmp_path / "faults.jsonl").write_text("".join(json.dumps(f) + "\n" for f in faults))
    return ledger


def looks(*seconds: int) -> list[str]:
    return [f"{s * S},observer,sample,3" for s in seconds]


KILL = [{"event": "inject", "index": 0, "action": "kill", "target": "leader(orders, 0)", "resolved": ["kafka-2"],
         "started_ns": 12 * S},
        {"event": "heal", "index": 0, "action": "kill", "target": "leader(orders, 0)", "healed_ns": 20 * S}]


def effects(ledger: Path) -> tuple[dict, list]:
    with History(ledger) as history:
        finding = FaultEffectChecker().check(history)
    return finding.metrics, finding.samples["effects"]


def test_a_leader_kill_whose_leadership_moved_proved_something(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", f"{10 * S},controller,leader,kafka-1",
                               f"{15 * S},partition:orders/0,leader,kafka-3", *looks(10, 11, 13, 15, 18)], KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["led"] == {"partition:orders/0": "led by kafka-3 from +5.0s"} and found[0]["observed"]


def test_a_partition_left_without_a_leader_is_an_effect_too(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2",
                               f"{13 * S},partition:orders/0,leader,-1", *looks(10, 13, 16)], KILL)
    assert effects(ledger)[1][0]["led"] == {"partition:orders/0": "without a leader from +3.0s"}


def test_a_leader_kill_the_cluster_never_noticed_proved_nothing(tmp_path: Path) -> None:
    """The default scenario's shape when a failover outlasts the fault: the leader stays until the heal."""
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", *looks(10, 13, 16, 19)], KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 1}
    assert found[0]["led"] == {"partition:orders/0": "stayed with kafka-2 until the heal"}


def test_a_fault_nobody_looked_at_is_not_an_observed_effect(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", *looks(10, 25)], KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 1}
    assert found[0]["led"] == {"partition:orders/0": "not looked at while the fault was in force"}


def test_a_fault_on_a_node_that_led_nothing_has_no_leadership_to_move(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-1", *looks(10, 13)], KILL)
    assert effects(ledger) == ({"faults_without_effect": 0}, [])


def test_without_a_record_of_the_cluster_the_figure_is_unknown(tmp_path: Path) -> None:
    assert effects(record(tmp_path, [], KILL)) == ({"faults_without_effect": None}, [])


SCENARIO = """\
name: t
target: {kind: kafka}
load: {users: 1, rate: 10, duration: 20s}
faults: [{at: 2s, action: kill, target: "leader(orders, 0)", heal_after: 8s}]
"""


def test_a_run_that_would_pass_with_a_fault_without_effect_is_inconclusive() -> None:
    scenario = parse_scenario(SCENARIO, "s.yaml")
    base = {"faults_failed": 0, "lost": 0}
    clean = base | {"faults_without_effect": 0}
    assert judge(expectations(scenario, clean), clean).verdict == "pass"
    missed = base | {"faults_without_effect": 1}
    assert judge(expectations(scenario, missed), missed).verdict == "inconclusive"
    lost = missed | {"faults_failed": 1}   # a real failure stays a failure
    assert judge(expectations(scenario, lost), lost).verdict == "fail"
    # unknown where nothing recorded the cluster: no expectation, so no error either
    assert [e.name for e in expectations(scenario, base | {"faults_without_effect": None})] == ["faults_failed"]
    allowed = parse_scenario(SCENARIO + "expect: {faults_without_effect: {max: 1}}\n", "s.yaml")
    assert judge(expectations(allowed, missed), missed).verdict == "pass"


def test_inconclusive_exits_3_and_is_skipped_in_junit() -> None:
    scenario = parse_scenario(SCENARIO, "s.yaml")
    metrics = {"faults_failed": 0, "faults_without_effect": 1}
    result = RunResult(scenario="t", description="", run_id="r", seed=1, out_dir="/tmp/r", started="", duration_s=1.0,
                       verdict=judge(expectations(scenario, metrics), metrics), metrics=metrics)
    assert _exit_status([result]) == EXIT_INCONCLUSIVE == 3
    suite = junit_xml([result]).getroot().find("testsuite")
    assert suite is not None and suite.get("skipped") == "1" and suite.get("failures") == "0"
    skipped = suite.find("testcase/skipped")
    assert skipped is not None and skipped.get("type") == "Inconclusive"
    assert "faults_without_effect" in (skipped.get("message") or "")


def test_a_leader_that_stayed_but_stopped_taking_writes_was_an_effect(tmp_path: Path) -> None:
    """acks=all while the dead leader is still in the ISR: nothing moves, nothing is written either."""
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", f"{10 * S},partition:orders/0,end,500",
                               f"{11 * S},partition:orders/0,end,812", f"{21 * S},partition:orders/0,end,900",
                               *looks(10, 11, 13, 16, 19, 21)], KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["led"] == {"partition:orders/0": "unavailable: stayed with kafka-2, its log end held at 812"
                                                     " until the heal"}


def test_a_leader_that_stayed_and_kept_taking_writes_proved_nothing(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", f"{10 * S},partition:orders/0,end,500",
                               f"{15 * S},partition:orders/0,end,700", *looks(10, 13, 15, 19)], KILL)
    assert effects(ledger)[0] == {"faults_without_effect": 1}


def kill_within(seconds: float, **extra: object) -> list[dict]:
    """KILL (12 s to 20 s) journalled with the failure detector the plan gave it."""
    return [{**KILL[0], "effect_within_s": seconds, **extra}, KILL[1]]


def test_a_move_after_the_heal_but_within_the_detector_time_is_the_faults_effect(tmp_path: Path) -> None:
    """A killed Kafka broker's restart waits out its old session: leadership moves after the heal
    (the default scenario's kill healed at 8 s, fenced at 12 s: issue 17)."""
    rows = [f"{10 * S},partition:orders/0,leader,kafka-2", f"{24 * S},partition:orders/0,leader,kafka-3",
            *looks(10, 13, 16, 19, 22, 24, 26)]
    ledger = record(tmp_path, rows, kill_within(12.0))
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["led"] == {"partition:orders/0": "led by kafka-3 from +14.0s"}
    # the same move without a detector that outlives the heal is after the fault: no effect of it
    (tmp_path / "again").mkdir()
    assert effects(record(tmp_path / "again", rows, KILL))[0] == {"faults_without_effect": 1}


def test_a_move_long_after_the_detector_time_is_not_the_faults_effect(tmp_path: Path) -> None:
    rows = [f"{10 * S},partition:orders/0,leader,kafka-2", f"{40 * S},partition:orders/0,leader,kafka-3",
            *looks(10, 13, 16, 19, 22, 26, 30, 40)]
    ledger = record(tmp_path, rows, kill_within(12.0))
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 1}
    assert found[0]["led"] == {"partition:orders/0": "stayed with kafka-2 to +17.0s"}


def test_a_fault_whose_effect_is_not_required_is_reported_but_not_counted(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", *looks(10, 13, 16, 19)],
                    kill_within(12.0, required=False))
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["observed"] is False and found[0]["required"] is False


def test_a_log_end_its_dead_leader_could_not_tell_is_unavailability_seen_by_the_observer(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", f"{10 * S},partition:orders/0,end,812",
                               f"{13 * S},partition:orders/0,end,?", f"{21 * S},partition:orders/0,end,900",
                               *looks(10, 13, 16, 19, 21)], KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["led"] == {"partition:orders/0": "unavailable: stayed with kafka-2, its log end held at 812"
                                                     " (unreadable: the leader did not answer) until the heal"}


PARTITION = [{"event": "inject", "index": 0, "action": "partition", "target": "isolate node(2)",
              "resolved": ["node(2) drops node(1), node(3)"], "started_ns": 12 * S},
             {"event": "verify", "index": 0, "action": "partition", "phase": "inject", "ok": True,
              "detail": "blocked node(1)-node(2), node(2)-node(3) (6 pairs probed)"},
             {"event": "heal", "index": 0, "action": "partition", "target": "isolate node(2)", "healed_ns": 20 * S}]


def test_a_partition_bit_when_its_probes_showed_the_reachability_it_meant(tmp_path: Path) -> None:
    """Without any record of the cluster (RabbitMQ has no view yet): the probes alone tell."""
    metrics, found = effects(record(tmp_path, [], PARTITION))
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["checks"][0]["ok"] and found[0]["observed"]


def test_a_partition_whose_probes_saw_packets_flow_proved_nothing(tmp_path: Path) -> None:
    failed = [PARTITION[0], {**PARTITION[1], "ok": False, "detail": "node(1)-node(2) reachable, meant blocked"},
              PARTITION[2]]
    metrics, found = effects(record(tmp_path, [], failed))
    assert metrics == {"faults_without_effect": 1} and not found[0]["observed"]


def test_recovery_from_the_clusters_view_says_when_the_in_sync_set_was_whole_again(tmp_path: Path) -> None:
    rows = [f"{10 * S},partition:orders/0,leader,kafka-2", f"{10 * S},partition:orders/0,isr,kafka-1;kafka-2;kafka-3",
            f"{15 * S},partition:orders/0,leader,kafka-3", f"{15 * S},partition:orders/0,isr,kafka-1;kafka-3",
            f"{23 * S},partition:orders/0,isr,kafka-1;kafka-2;kafka-3", *looks(10, 13, 15, 18, 21, 23, 25)]
    found = effects(record(tmp_path, rows, KILL))[1]
    assert found[0]["recovered"] == {"partition:orders/0": "in-sync replicas whole again 3.0s after the heal"}
    (tmp_path / "never").mkdir()
    never = effects(record(tmp_path / "never", rows[:4] + [r for r in rows[5:]], KILL))[1]
    assert never[0]["recovered"] == {"partition:orders/0": "in-sync replicas never whole again in the run"}


CONSUMER_KILL = [{"event": "inject", "index": 1, "action": "kill", "target": "consumer(1)", "resolved": ["consumer-1"],
                  "started_ns": 12 * S, "effect_within_s": 10.0},
                 {"event": "heal", "index": 1, "action": "kill", "target": "consumer(1)", "healed_ns": 16 * S}]
GROUP = "group:orders-svc"


def test_a_killed_consumer_rejoining_as_a_new_member_is_its_effect_on_the_group(tmp_path: Path) -> None:
    rows = [f"{10 * S},{GROUP},members,orders-svc-1@aaaa0001;orders-svc-2@bbbb0002",
            f"{13 * S},{GROUP},members,?",   # the coordinator did not answer that look
            f"{17 * S},{GROUP},members,orders-svc-1@cccc0003;orders-svc-2@bbbb0002", *looks(10, 13, 15, 17, 19)]
    metrics, found = effects(record(tmp_path, rows, CONSUMER_KILL))
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["led"] == {GROUP: "orders-svc-1 rejoined as a new member at +7.0s"}


def test_a_consumer_fault_the_group_never_noticed_proved_nothing(tmp_path: Path) -> None:
    rows = [f"{10 * S},{GROUP},members,orders-svc-1@aaaa0001;orders-svc-2@bbbb0002", *looks(10, 13, 16, 19, 22, 26)]
    metrics, found = effects(record(tmp_path, rows, CONSUMER_KILL))
    assert metrics == {"faults_without_effect": 1}
    assert found[0]["led"] == {GROUP: "orders-svc-1 stayed in the group as it was"}
    (tmp_path / "left").mkdir()
    left = rows[:1] + [f"{20 * S},{GROUP},members,orders-svc-2@bbbb0002"] + rows[1:]
    assert effects(record(tmp_path / "left", left, CONSUMER_KILL))[1][0]["led"] == {
        GROUP: "orders-svc-1 left the group at +10.0s"}


def test_the_comparison_tells_an_inconclusive_run_from_a_failed_one(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from harness.campaign import KEY_FIGURES, print_comparison, write_comparison

    data = {"scenario": "s", "variants": [{"variant": "acks=all", "runs": 2, "passed": 1, "expect": {}, "why": "",
                                           "verdicts": ["pass", "inconclusive"], "out_dirs": ["a", "b"],
                                           "figures": {name: [0, 0] for name in KEY_FIGURES}}]}
    out = io.StringIO()
    print_comparison(data, Console(file=out, width=300))
    assert "1/2 (inconclusive)" in out.getvalue()
    _, page = write_comparison(data, tmp_path)
    assert "class='verdict inconclusive'>inconclusive</a>" in page.read_text()


def test_a_new_member_listed_beside_the_old_one_during_the_rebalance_is_the_effect(tmp_path: Path) -> None:
    """Seen on a real group killed every 2 s: old and new members of one client listed side by side,
    the first of them in sort order unchanged."""
    rows = [f"{10 * S},{GROUP},members,orders-svc-1@aaaa;orders-svc-2@bbbb",
            f"{13 * S},{GROUP},members,orders-svc-1@aaaa;orders-svc-1@zzzz;orders-svc-2@bbbb", *looks(10, 13, 16)]
    found = effects(record(tmp_path, rows, CONSUMER_KILL))[1]
    assert found[0]["led"] == {GROUP: "orders-svc-1 rejoined as a new member at +3.0s"} and found[0]["observed"]


CLASSIC_KILL = [{"event": "inject", "index": 0, "action": "kill", "target": "leader(orders)", "resolved": ["rabbit-1"],
                 "started_ns": 12 * S},
                {"event": "heal", "index": 0, "action": "kill", "target": "leader(orders)", "healed_ns": 20 * S}]


def test_a_queue_whose_leader_stopped_answering_and_nobody_took_over_was_unavailable(tmp_path: Path) -> None:
    """A classic queue lives on one node: killed, the queue's record still names it, and the node's
    silence to the observer is what the record shows of the fault (RabbitMQ's view)."""
    ledger = record(tmp_path, [f"{10 * S},queue:orders,leader,rabbit-1", f"{10 * S},node:rabbit-1,answers,yes",
                               f"{13 * S},node:rabbit-1,answers,down", f"{21 * S},node:rabbit-1,answers,yes",
                               *looks(10, 13, 16, 21)], CLASSIC_KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["led"] == {"queue:orders": "unavailable: its leader rabbit-1 did not answer (down) and no other"
                                               " node took over, until the heal"} and found[0]["observed"]


def test_a_queue_leader_that_answered_throughout_and_stayed_proved_nothing(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},queue:orders,leader,rabbit-1", f"{10 * S},node:rabbit-1,answers,yes",
                               f"{13 * S},node:rabbit-2,answers,down", *looks(10, 13, 16, 21)], CLASSIC_KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 1}
    assert found[0]["led"] == {"queue:orders": "stayed with rabbit-1 until the heal"} and not found[0]["observed"]


QUEUE_CONSUMER_KILL = [{"event": "inject", "index": 0, "action": "kill", "target": "consumer(1)",
                        "resolved": ["consumer-1"], "started_ns": 12 * S},
                       {"event": "heal", "index": 0, "action": "kill", "target": "consumer(1)", "healed_ns": 16 * S}]


def test_a_killed_consumer_back_on_a_new_channel_is_its_effect_on_the_queue(tmp_path: Path) -> None:
    """RabbitMQ's view lists a queue's consumers by connection name and channel; a quorum queue's
    own members (nodes) under `members` are not consumers and are left alone."""
    ledger = record(tmp_path, [f"{10 * S},queue:orders,members,rabbit-1;rabbit-2;rabbit-3",
                               f"{10 * S},queue:orders,consumers,consumer-1@<1.90.0>;consumer-2@<2.91.0>",
                               f"{13 * S},queue:orders,consumers,consumer-2@<2.91.0>",
                               f"{17 * S},queue:orders,consumers,consumer-1@<3.120.0>;consumer-2@<2.91.0>",
                               *looks(10, 13, 17)], QUEUE_CONSUMER_KILL)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}
    assert found[0]["led"] == {"queue:orders": "consumer-1 left the consumers of orders at +3.0s"}, found


PAUSE = [{"event": "inject", "index": 0, "action": "pause", "target": "controller", "resolved": ["kafka-2"],
          "started_ns": 12 * S},
         {"event": "heal", "index": 0, "action": "pause", "target": "controller", "healed_ns": 18 * S}]


def test_a_look_begun_as_the_heal_was_under_way_does_not_undo_the_unavailability(tmp_path: Path) -> None:
    """Seen on Docker (the default scenario's 6 s pause of the controller): the paused leader's log
    end unreadable from the first look on, and read again by a look that began 1 ms before the
    heal's record, while the unpause was under way. The partition was unavailable all along."""
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", f"{11 * S},partition:orders/0,end,3202",
                               f"{12 * S + 10**7},partition:orders/0,end,?",
                               f"{18 * S - 10**6},partition:orders/0,end,4026",
                               *[f"{ts},observer,sample,3" for ts in
                                 (11 * S, 12 * S + 10**7, 13 * S, 15 * S, 16 * S, 17 * S, 18 * S - 10**6)]], PAUSE)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 0}, found
    assert found[0]["led"] == {"partition:orders/0": "unavailable: stayed with kafka-2, its log end held at 3202"
                                                     " (unreadable: the leader did not answer) until the heal"}


def test_writes_that_land_after_the_first_look_of_a_fault_are_no_unavailability(tmp_path: Path) -> None:
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", f"{11 * S},partition:orders/0,end,3202",
                               f"{13 * S},partition:orders/0,end,3300", f"{16 * S},partition:orders/0,end,3400",
                               *looks(11, 13, 14, 16, 17)], PAUSE)
    assert effects(ledger)[0] == {"faults_without_effect": 1}


def test_a_fault_too_short_for_a_second_look_shows_no_held_log_end(tmp_path: Path) -> None:
    """One look after the strike is a baseline, not evidence: with no look after it before the heal,
    a log end that did not change says nothing."""
    short = [PAUSE[0], {**PAUSE[1], "healed_ns": 13 * S}]
    ledger = record(tmp_path, [f"{10 * S},partition:orders/0,leader,kafka-2", f"{11 * S},partition:orders/0,end,3202",
                               *[f"{ts},observer,sample,3" for ts in (11 * S, 12 * S + 10**7, 12 * S + 6 * 10**8)]],
                    short)
    metrics, found = effects(ledger)
    assert metrics == {"faults_without_effect": 1}, found
