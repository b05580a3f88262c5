"""Did the partition partition? A TCP handshake between every pair of sides (the nodes' namespaces
and the clients' side), measured right after a partition is applied and after it heals, against
what the grudges in force intend.

A handshake needs packets both ways (the SYN there, the reset or SYN-ACK back), so a probe measures a
pair's round trip: it is blocked when either side drops the other's packets. That is what is
compared (an asymmetric grudge shows as a blocked pair); one-way loss is not told apart from two-way.
"""

from __future__ import annotations

import itertools
import logging
import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from harness.network import grudges
from harness.network.grudges import Grudge

log = logging.getLogger("aftershock")

PROBE_PORT = 9        # discard: nothing listens there, so a node that gets the SYN answers with a reset at once
TIMEOUT = 1.0         # seconds without an answer: the packets were dropped (a reset takes well under 1 ms here)
Pair = tuple[int, int]   # (a, b), a < b; grudges.CLIENT (0) is the clients' side


@dataclass(frozen=True)
class Reachability:
    """One measurement: each pair reachable (True), blocked (False) or not probed (None: a side
    without a namespace to probe from, such as a stopped container)."""

    measured: dict[Pair, bool | None]
    intended: dict[Pair, bool]

    @property
    def wrong(self) -> list[Pair]:
        return [pair for pair, seen in self.measured.items() if seen is not None and seen != self.intended[pair]]

    @property
    def probed(self) -> int:
        return sum(seen is not None for seen in self.measured.values())

    def describe(self) -> str:
        def name(n: int) -> str:
            return "client" if n == grudges.CLIENT else f"node({n})"

        blocked = [f"{name(a)}-{name(b)}" for (a, b), ok in sorted(self.intended.items()) if not ok]
        if self.wrong:
            return "; ".join(f"{name(a)}-{name(b)} {'reachable' if self.measured[(a, b)] else 'blocked'}, meant"
                             f" {'reachable' if self.intended[(a, b)] else 'blocked'}" for a, b in self.wrong)
        if not self.probed:
            return "nothing could be probed"
        what = f"blocked {', '.join(blocked)}" if blocked else "every pair reachable"
        unprobed = len(self.measured) - self.probed
        return f"{what} ({self.probed} pairs probed" + (f", {unprobed} not" if unprobed else "") + ")"


def intended(sides: Sequence[int], grudge: Grudge) -> dict[Pair, bool]:
    """Each pair's round trip as the grudge means it: open unless either side drops the other."""
    return {(a, b): b not in grudge.get(a, frozenset()) and a not in grudge.get(b, frozenset())
            for a, b in itertools.combinations(sorted(sides), 2)}


def handshake(prefix: list[str], address: str, timeout: float = TIMEOUT) -> bool:
    """From the namespace `prefix` enters (the host's: []), does `address` answer a TCP SYN at all?
    A reset ("Connection refused") or an accept is an answer; silence or no route is none."""
    argv = [*prefix, "timeout", f"{timeout:g}", "bash", "-c", f"exec 3<>/dev/tcp/{address}/{PROBE_PORT}"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=timeout + 20)
    return done.returncode == 0 or "Connection refused" in done.stderr


def measure(sides: Sequence[int], grudge: Grudge, prefix: Callable[[int], list[str]],
            address: Callable[[int], str]) -> Reachability:
    """Every pair probed at once from its lower side (a side whose namespace cannot be entered now
    is not probed), against what `grudge` intends."""
    def probe(pair: Pair) -> bool | None:
        a, b = pair
        try:
            return handshake(prefix(a), address(b))
        except Exception as exc:  # noqa: BLE001 - a side that cannot be entered (stopped) says nothing
            log.info("reachability %s-%s not probed: %s", a, b, exc)
            return None

    wanted = intended(sides, grudge)
    with ThreadPoolExecutor(max_workers=max(1, len(wanted))) as pool:
        seen = dict(zip(wanted, pool.map(probe, wanted), strict=True))
    return Reachability(seen, wanted)
