"""Validation's warnings about schedules that cannot bite (issue 17 point 4): each at its fault's
line, from the broker's own failure detectors under the scenario's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from harness.advice import advise, located, schedule_warnings
from harness.plan import plan
from harness.scenario.loader import locate_in, parse_scenario

REPO = Path(__file__).resolve().parents[2]

KAFKA = """\
name: t
target: {{kind: kafka, nodes: 3, controllers: {controllers}, broker_config: {{{broker_config}}}}}
load: {{duration: 60s}}
consumer: {{instances: 2}}
faults:
{faults}
"""

RABBIT = """\
name: t
target: {{kind: rabbitmq, nodes: 3, queue: {{name: orders, type: {queue}}}, broker_config: {{{broker_config}}}}}
network: {{isolation: namespaces}}
load: {{duration: 60s}}
consumer: {{instances: 2}}
faults:
{faults}
"""


def kafka(*faults: str, controllers: int = 0, broker_config: str = "") -> str:
    return KAFKA.format(controllers=controllers, broker_config=broker_config,
                        faults="\n".join(f"  - {{{f}}}" for f in faults))


def rabbit(*faults: str, queue: str = "quorum", broker_config: str = "") -> str:
    return RABBIT.format(queue=queue, broker_config=broker_config, faults="\n".join(f"  - {{{f}}}" for f in faults))


def warnings_of(text: str) -> list[str]:
    scenario = parse_scenario(text, "s.yaml")
    return [locate_in(text, "s.yaml", a.loc, a.message) for a in advise(scenario)]


def test_a_pause_healed_before_the_session_timeout_is_warned_at_its_heal_after() -> None:
    (warning,) = warnings_of(kafka('at: 8s, action: pause, target: "leader(orders, 0)", heal_after: 6s'))
    assert warning.startswith("s.yaml:6:58: faults.0.heal_after: pause leader(orders, 0) heals 6s after")
    # every broker votes here: a new controller first (2 s + 1 s), then its sessions (9 s)
    assert "broker.session.timeout.ms (12s)" in warning and "heal after 14s or later" in warning


def test_a_pause_long_enough_for_the_detector_is_not_warned() -> None:
    assert warnings_of(kafka('at: 8s, action: pause, target: "leader(orders, 0)", heal_after: 12s')) == []


def test_the_scenarios_own_session_timeout_counts() -> None:
    fault = 'at: 8s, action: pause, target: "leader(orders, 0)", heal_after: 8s'
    assert warnings_of(kafka(fault, broker_config="broker.session.timeout.ms: 4000")) == []
    (warning,) = warnings_of(kafka(fault, broker_config="broker.session.timeout.ms: 6000"))
    assert "(9s)" in warning


def test_a_kill_healed_early_still_bites_and_is_not_warned() -> None:
    """The restarted broker's registration is refused until its old session expires: leadership
    moves anyway, after the heal (the default scenario's logs, issue 17)."""
    text = kafka('at: 8s, action: kill, target: "leader(orders, 0)", heal_after: 3s')
    assert warnings_of(text) == []
    (fault,) = plan(parse_scenario(text)).faults
    assert fault.effect_within == 12.0 and all(d.outlives_heal for d in fault.detectors)


def test_a_clean_stop_and_a_restart_silence_nothing() -> None:
    text = kafka('at: 8s, action: stop, target: "leader(orders, 0)", heal_after: 1s',
                 'at: 20s, action: restart, target: "node(2)"')
    assert warnings_of(text) == []
    assert [f.effect_within for f in plan(parse_scenario(text)).faults] == [None, None]


def test_dedicated_controllers_separate_the_two_detectors() -> None:
    broker = 'at: 8s, action: pause, target: "node(1)", heal_after: 8s'
    controller = 'at: 30s, action: pause, target: controller, heal_after: 4s'
    (warning,) = warnings_of(kafka(broker, controller, controllers=3))
    assert "faults.0.heal_after" in warning and "broker.session.timeout.ms (9s)" in warning
    (short,) = warnings_of(kafka('at: 30s, action: pause, target: controller, heal_after: 2s', controllers=3))
    assert "elect a new active controller" in short and "(3s)" in short


def test_a_hung_consumer_is_warned_against_its_session_timeout_and_a_killed_one_is_not() -> None:
    (warning,) = warnings_of(kafka('at: 8s, action: pause, target: "consumer(1)", heal_after: 5s',
                                   'at: 20s, action: kill, target: "consumer(2)", heal_after: 2s'))
    assert "faults.0.heal_after" in warning and "consumer.session_timeout (10s)" in warning
    assert "rebalances" in warning


def test_effect_required_false_silences_the_warning() -> None:
    assert warnings_of(kafka('at: 8s, action: pause, target: "leader(orders, 0)", heal_after: 2s,'
                             ' effect_required: false')) == []


def test_a_fault_without_heal_after_lasting_to_the_end_of_the_load_is_warned_at_its_at() -> None:
    (warning,) = warnings_of(kafka('at: 55s, action: pause, target: "node(2)"'))
    assert "faults.0.at" in warning and "lasts 5s, to the end of the load" in warning


def test_a_second_leader_fault_before_the_first_could_move_the_leader_strikes_the_same_node() -> None:
    (warning,) = warnings_of(kafka('at: 8s, action: kill, target: "leader(orders, 0)", heal_after: 14s',
                                   'at: 12s, action: pause, target: "leader(orders, 0)", heal_after: 14s'))
    assert warning.startswith("s.yaml:7:") and "faults.1.at" in warning
    assert "cannot have moved that leadership before 20s" in warning and "strike at 22s or later" in warning


def test_a_partition_cut_between_clients_and_a_node_silences_no_peer() -> None:
    text = kafka('at: 8s, action: partition, mode: cut, between: "client|node(1)", heal_after: 3s')
    text = text.replace("load:", "network: {isolation: namespaces}\nload:")
    assert warnings_of(text) == []
    isolated = text.replace('mode: cut, between: "client|node(1)"', 'mode: isolate, target: "node(1)"')
    (warning,) = warnings_of(isolated)
    assert "partition isolate node(1) heals 3s" in warning


def test_rabbitmq_counts_a_silent_node_down_after_net_ticktime() -> None:
    pause = 'at: 8s, action: pause, target: "node(2)", heal_after: 5s'
    (warning,) = warnings_of(rabbit(pause, queue="classic"))
    assert "1.25 x target.net_ticktime (12.5s)" in warning and "classic queues fail over" in warning
    # up to 1.25 net_ticktime (Erlang's ticks go every quarter): 11 s partitions at 10 s were noticed only
    # as they healed (rabbitmq-quorum-partition, 2026-12-04), so 11 s is warned of too, 13 s is not
    eleven = 'at: 8s, action: pause, target: "node(2)", heal_after: 11s'
    assert len(warnings_of(rabbit(eleven, queue="classic"))) == 1
    assert warnings_of(rabbit(eleven.replace("11s", "13s"), queue="classic")) == []
    (handled,) = warnings_of(rabbit(pause, broker_config="cluster_partition_handling: pause_minority"))
    assert "pause_minority acts" in handled
    assert warnings_of(rabbit(pause)) == []   # quorum queues, no partition handling: Ra's own detector
    assert warnings_of(rabbit('at: 8s, action: kill, target: "node(2)", heal_after: 1s', queue="classic")) == []


def test_a_hung_rabbitmq_consumer_is_warned_against_its_heartbeat() -> None:
    (warning,) = warnings_of(rabbit('at: 8s, action: pause, target: "consumer(1)", heal_after: 4s'))
    assert "AMQP heartbeat (10s)" in warning and "requeues" in warning


def test_a_nemesis_whose_faults_heal_too_soon_is_warned_once_at_its_duration() -> None:
    text = kafka('at: 1s, action: stop, target: "node(1)", heal_after: 1s').replace(
        "faults:", "nemesis: {kinds: [pause], interval: 4s, duration: 4s, start: 5s, stop: 50s}\nfaults:")
    (warning,) = warnings_of(text)
    assert "nemesis.duration" in warning and "of the nemesis's" in warning and "set duration to 28s" in warning


def test_every_variant_of_a_matrix_is_advised_and_shared_warnings_come_once() -> None:
    text = kafka('at: 8s, action: pause, target: "leader(orders, 0)", heal_after: 8s') + \
        "matrix: {target.broker_config.broker.session.timeout.ms: [4000, 6000, 7000]}\n"
    warnings = warnings_of(text)
    assert len(warnings) == 2 and any("(9s)" in w for w in warnings) and any("(10s)" in w for w in warnings)


def test_the_default_scenario_bites_as_written() -> None:
    """Its pause of the controller (6 s) outlasts the quorum's detector (3 s); its kills bite after the heal."""
    path = REPO / "scenarios" / "kafka-leader-kill-acks-all.yaml"
    from harness.scenario import load_scenario

    assert schedule_warnings(load_scenario(path), path) == []


def test_warnings_fall_back_to_keys_when_the_file_cannot_be_read(tmp_path: Path) -> None:
    text = kafka('at: 8s, action: pause, target: "node(2)", heal_after: 2s')
    (warning,) = schedule_warnings(parse_scenario(text), tmp_path / "gone.yaml")
    assert warning.startswith("faults.0.heal_after: pause node(2)")
    path = tmp_path / "s.yaml"
    path.write_text(text)
    assert located(advise(parse_scenario(text)), path)[0].startswith(f"{path}:6:")


@pytest.mark.parametrize("strict, status", [(False, 0), (True, 2)])
def test_validate_prints_warnings_on_stderr_and_fails_on_them_only_when_strict(
        tmp_path: Path, strict: bool, status: int) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(kafka('at: 8s, action: pause, target: "node(2)", heal_after: 2s'))
    done = subprocess.run([sys.executable, "-m", "harness", "validate", *(["--strict"] if strict else []), str(path)],
                          cwd=REPO, capture_output=True, text=True, timeout=60, env={**os.environ, "COLUMNS": "80"})
    assert done.returncode == status, done.stderr
    assert done.stdout.startswith(f"ok {path}")
    (line,) = done.stderr.splitlines()
    assert line.startswith(f"warning {path}:6:") and "faults.0.heal_after" in line


def test_validate_on_first_use_of_a_release_tells_its_progress_on_stderr_and_answers_alone_on_stdout(
        tmp_path: Path) -> None:
    """Seen on a fresh machine: validate's first look at a release's setting definitions printed
    "reading the settings Kafka 4.4.0 defines ... (first use)" on stdout, before its "ok" line."""
    from harness.brokers.kafka.dist import is_resolved, kafka_version, libs_dir

    version = kafka_version()
    if not is_resolved(version):
        pytest.skip(f"Kafka {version} is not installed here (make install-test installs it)")
    cache = tmp_path / "cache"
    (cache / f"kafka-{version}").mkdir(parents=True)
    (cache / f"kafka-{version}" / "libs").symlink_to(libs_dir(version))   # the jars, not yet their definitions
    path = tmp_path / "s.yaml"
    path.write_text(kafka('at: 8s, action: kill, target: "node(2)", heal_after: 20s'))
    done = subprocess.run([sys.executable, "-m", "harness", "validate", str(path)], cwd=REPO, capture_output=True,
                          text=True, timeout=120, env={**os.environ, "AFTERSHOCK_CACHE": str(cache), "COLUMNS": "200"})
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [f"ok {path}: t"], done.stdout
    assert f"reading the settings Kafka {version} defines from its jars (first use)" in done.stderr
    assert (cache / f"kafka-{version}" / "config-defs.json").exists()   # it did read them
