"""Schedule resolution: order, seeded `random`, heal placement."""

from __future__ import annotations

import pytest

from harness.plan import plan
from harness.scenario.loader import parse_scenario
from harness.scenario.selectors import Selector, parse_selector

SCENARIO = """\
name: t
seed: {seed}
target: {{kind: kafka, nodes: 5, topic: {{replication_factor: 3}}}}
load: {{duration: 60s}}
faults:
  - {{at: 30s, action: pause, target: controller, heal_after: 5s}}
  - {{at: 10s, action: kill, target: random, heal_after: 10s}}
  - {{at: 20s, action: kill, target: random}}
  - {{at: 40s, action: restart, target: "node(2)", heal_after: 5s}}
  - {{at: 50s, action: stop, target: "leader(orders, 0)", heal_after: 30s}}
"""


def schedule(seed: int = 1):
    return plan(parse_scenario(SCENARIO.format(seed=seed)))


def test_faults_are_ordered_by_time() -> None:
    assert [f.at for f in schedule().faults] == [10, 20, 30, 40, 50]


def test_same_seed_gives_the_same_schedule() -> None:
    assert schedule(3).as_json() == schedule(3).as_json()


def test_random_targets_resolve_to_nodes_and_depend_on_the_seed() -> None:
    picks = {tuple(f.what for f in schedule(seed).faults[:2]) for seed in range(20)}
    assert all(p.startswith("node(") for pair in picks for p in pair)
    assert len(picks) > 1


def test_heal_after_sets_the_heal_time() -> None:
    first = schedule().faults[0]
    assert first.heal_at == 20.0


def test_fault_without_heal_after_heals_at_the_end() -> None:
    assert schedule().faults[1].heal_at is None


def test_restart_needs_no_heal() -> None:
    restart = next(f for f in schedule().faults if f.action == "restart")
    assert restart.heal_at is None


def test_heal_beyond_the_load_is_left_to_the_final_heal() -> None:
    assert schedule().faults[-1].heal_at is None


def test_leader_and_controller_stay_unresolved_until_the_fault_fires() -> None:
    targets = {f.what for f in schedule().faults}
    assert {"controller", "leader(orders, 0)"} <= targets


@pytest.mark.parametrize("text,expected", [
    ("node(2)", Selector("node", ("2",))),
    ("leader(orders, 0)", Selector("leader", ("orders", "0"))),
    ("leader( orders ,3 )", Selector("leader", ("orders", "3"))),
    ("controller", Selector("controller")),
    ("consumer(1)", Selector("consumer", ("1",))),
])
def test_selectors_parse(text: str, expected: Selector) -> None:
    assert parse_selector(text) == expected


@pytest.mark.parametrize("text", ["node(0)", "node(x)", "node", "leader()", "leader(a, b)", "controller(1)", "nobody"])
def test_bad_selectors_are_refused(text: str) -> None:
    with pytest.raises(ValueError):
        parse_selector(text)

