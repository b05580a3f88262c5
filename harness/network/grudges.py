"""Partition modes as grudges (Jepsen's term): node -> the set of nodes it drops packets from.

Pure functions of the node list and a seeded RNG, so the same seed cuts the same way. Node 0
stands for the clients (the root namespace), used by `cut` with a `client` side.
"""

from __future__ import annotations

import random
from collections.abc import Iterable

Grudge = dict[int, frozenset[int]]
CLIENT = 0


def from_components(components: Iterable[Iterable[int]]) -> Grudge:
    """Every node drops packets from every node outside its own component."""
    parts = [frozenset(c) for c in components]
    everyone = frozenset().union(*parts)
    return {node: everyone - part for part in parts for node in part}


def isolate(node: int, nodes: list[int]) -> Grudge:
    return from_components([[node], [n for n in nodes if n != node]])


def halves(nodes: list[int], rng: random.Random) -> Grudge:
    shuffled = rng.sample(nodes, len(nodes))
    cut = len(nodes) // 2
    return from_components([shuffled[:cut], shuffled[cut:]])


def minority(node: int, nodes: list[int], rng: random.Random) -> Grudge:
    """`node` ends up in the minority side (with others if there is room): a leader cut off."""
    others = rng.sample([n for n in nodes if n != node], len(nodes) - 1)
    size = (len(nodes) - 1) // 2
    side = [node] + others[: size - 1]
    return from_components([side, [n for n in nodes if n not in side]])


def majority(node: int, nodes: list[int], rng: random.Random) -> Grudge:
    """`node` stays in the majority side; a random minority is cut away from it."""
    others = rng.sample([n for n in nodes if n != node], len(nodes) - 1)
    minority_side = others[: (len(nodes) - 1) // 2]
    return from_components([minority_side, [n for n in nodes if n not in minority_side]])


def majorities_ring(nodes: list[int], rng: random.Random) -> Grudge:
    """Each node sees a majority, but no two the same one (Jepsen's majorities-ring)."""
    ring = rng.sample(nodes, len(nodes))
    size = len(nodes) // 2 + 1
    grudge = {}
    for i, node in enumerate(ring):
        visible = {ring[(i + k) % len(ring)] for k in range(-(size // 2), size - size // 2)}
        grudge[node] = frozenset(nodes) - visible
    return grudge


def bridge(nodes: list[int], rng: random.Random) -> Grudge:
    """Two halves that cannot see each other, joined by one node that sees both."""
    shuffled = rng.sample(nodes, len(nodes))
    middle = len(nodes) // 2
    left, link, right = shuffled[:middle], shuffled[middle], shuffled[middle + 1:]
    grudge = {n: frozenset(right) for n in left}
    grudge.update({n: frozenset(left) for n in right})
    grudge[link] = frozenset()
    return grudge


def asymmetric(source: int, dest: int) -> Grudge:
    """`source` cannot reach `dest`; `dest` still reaches `source`."""
    return {dest: frozenset([source])}


def cut(a: int, b: int) -> Grudge:
    """a and b (either may be CLIENT) cannot exchange packets in either direction."""
    return {a: frozenset([b]), b: frozenset([a])}


def merge(grudges: Iterable[Grudge]) -> Grudge:
    """Several partitions in force at once: a node drops what any of them says."""
    merged: dict[int, frozenset[int]] = {}
    for grudge in grudges:
        for node, dropped in grudge.items():
            merged[node] = merged.get(node, frozenset()) | dropped
    return merged


def describe(grudge: Grudge) -> list[str]:
    name = lambda n: "client" if n == CLIENT else f"node({n})"  # noqa: E731
    return [f"{name(n)} drops {', '.join(name(m) for m in sorted(d))}" for n, d in sorted(grudge.items()) if d]
