"""Partition modes resolve to the right grudges on 3 and 5 nodes."""

from __future__ import annotations

import random

import pytest

from harness.network import grudges as g

N3, N5 = [1, 2, 3], [1, 2, 3, 4, 5]


def sees(grudge: g.Grudge, a: int, b: int) -> bool:
    """a hears b (b's packets reach a)."""
    return b not in grudge.get(a, frozenset())


def components(grudge: g.Grudge, nodes: list[int]) -> list[set[int]]:
    """Groups of nodes that hear each other both ways, for symmetric grudges."""
    left = set(nodes)
    found = []
    while left:
        first = left.pop()
        part = {first} | {n for n in left if sees(grudge, first, n) and sees(grudge, n, first)}
        left -= part
        found.append(part)
    return found


def symmetric(grudge: g.Grudge, nodes: list[int]) -> bool:
    return all(sees(grudge, a, b) == sees(grudge, b, a) for a in nodes for b in nodes)


@pytest.mark.parametrize("nodes", [N3, N5])
def test_isolate_cuts_one_node_from_all_others(nodes: list[int]) -> None:
    grudge = g.isolate(2, nodes)
    assert sorted(map(sorted, components(grudge, nodes))) == sorted([[2], [n for n in nodes if n != 2]])
    assert symmetric(grudge, nodes)


@pytest.mark.parametrize("nodes", [N3, N5])
def test_halves_split_into_two_sides_of_near_equal_size(nodes: list[int]) -> None:
    grudge = g.halves(nodes, random.Random(1))
    sizes = sorted(len(c) for c in components(grudge, nodes))
    assert sizes == [len(nodes) // 2, len(nodes) - len(nodes) // 2]
    assert symmetric(grudge, nodes)


def test_halves_are_seeded() -> None:
    assert g.halves(N5, random.Random(7)) == g.halves(N5, random.Random(7))
    assert len({tuple(sorted((k, tuple(sorted(v))) for k, v in g.halves(N5, random.Random(s)).items()))
                for s in range(30)}) > 1


@pytest.mark.parametrize("nodes", [N3, N5])
def test_minority_puts_the_target_on_the_small_side(nodes: list[int]) -> None:
    grudge = g.minority(3, nodes, random.Random(2))
    side = next(c for c in components(grudge, nodes) if 3 in c)
    assert len(side) == (len(nodes) - 1) // 2


@pytest.mark.parametrize("nodes", [N3, N5])
def test_majority_keeps_the_target_on_the_big_side(nodes: list[int]) -> None:
    grudge = g.majority(3, nodes, random.Random(2))
    side = next(c for c in components(grudge, nodes) if 3 in c)
    assert len(side) == len(nodes) // 2 + 1


@pytest.mark.parametrize("nodes", [N3, N5])
def test_majorities_ring_every_node_sees_a_majority_none_the_same(nodes: list[int]) -> None:
    grudge = g.majorities_ring(nodes, random.Random(3))
    views = [frozenset(m for m in nodes if sees(grudge, n, m)) for n in nodes]
    assert all(len(v) == len(nodes) // 2 + 1 for v in views)
    assert all(n in views[i] for i, n in enumerate(nodes))
    assert len(set(views)) == len(nodes)


@pytest.mark.parametrize("nodes", [N3, N5])
def test_bridge_node_sees_both_halves_which_do_not_see_each_other(nodes: list[int]) -> None:
    grudge = g.bridge(nodes, random.Random(4))
    link = next(n for n, d in grudge.items() if not d)
    assert all(sees(grudge, link, n) and sees(grudge, n, link) for n in nodes)
    rest = [n for n in nodes if n != link]
    assert any(not sees(grudge, a, b) for a in rest for b in rest)
    assert symmetric(grudge, nodes)


def test_asymmetric_blocks_one_direction_only() -> None:
    grudge = g.asymmetric(1, 2)
    assert not sees(grudge, 2, 1) and sees(grudge, 1, 2)


def test_explicit_groups() -> None:
    grudge = g.from_components([[1, 2], [3]])
    assert components(grudge, N3) in ([{1, 2}, {3}], [{3}, {1, 2}])


def test_cut_between_clients_and_a_node() -> None:
    grudge = g.cut(g.CLIENT, 2)
    assert grudge == {0: frozenset([2]), 2: frozenset([0])}
    assert g.describe(grudge) == ["client drops node(2)", "node(2) drops client"]


def test_merge_unions_what_each_node_drops() -> None:
    merged = g.merge([g.isolate(1, N3), g.asymmetric(2, 3)])
    assert merged[3] == frozenset({1, 2}) and merged[1] == frozenset({2, 3})
