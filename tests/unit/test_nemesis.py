"""Nemesis schedules: seeded, healed, never overlapping, inside their window."""

from __future__ import annotations

import pytest

from harness.plan import plan
from harness.scenario.loader import parse_scenario

SCENARIO = """\
name: n
seed: {seed}
target: {{kind: kafka, nodes: 3}}
network: {{isolation: namespaces}}
load: {{duration: 120s}}
nemesis: {{kinds: [partition, kill, latency, pause, down], interval: 8s, duration: 5s, start: 10s, stop: 100s}}
"""


def schedule(seed: int):
    return plan(parse_scenario(SCENARIO.format(seed=seed)))


def test_same_seed_gives_an_identical_schedule() -> None:
    assert schedule(5).as_json() == schedule(5).as_json()


def test_different_seeds_give_different_schedules() -> None:
    assert len({str(schedule(s).as_json()) for s in range(10)}) > 1


@pytest.mark.parametrize("seed", range(20))
def test_every_fault_heals_before_the_next_and_inside_the_window(seed: int) -> None:
    faults = [f for f in schedule(seed).faults if f.origin == "nemesis"]
    assert len(faults) >= 3
    for fault in faults:
        if fault.action != "restart":
            assert fault.heal_at is not None and fault.at < fault.heal_at <= 100
    for before, after in zip(faults, faults[1:]):
        assert (before.heal_at or before.at) < after.at
    assert faults[0].at == 10


@pytest.mark.parametrize("seed", range(10))
def test_generated_random_targets_are_resolved_to_nodes(seed: int) -> None:
    for fault in schedule(seed).faults:
        assert "random" not in fault.what


def test_nemesis_partitions_need_namespaces() -> None:
    from harness.errors import ScenarioError

    with pytest.raises(ScenarioError, match="isolation: namespaces"):
        parse_scenario(SCENARIO.format(seed=1).replace("network: {isolation: namespaces}\n", ""))
