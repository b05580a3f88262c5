"""In-process stand-ins for what the fault injector acts on: processes, a cluster that answers
leader_of/controller, a namespace network and a Toxiproxy client, all recording their calls in one
log (so orders across them can be asserted), and a clock the test moves by hand."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from harness.errors import ClusterError
from harness.faults.env import RunFaultEnv
from harness.faults.injector import FaultInjector
from harness.network import grudges
from harness.network.probes import Reachability, intended
from harness.plan import PlannedFault, Schedule

Call = tuple[Any, ...]


class _Recorder:
    """Records each call in the shared log; `trap` makes one later call of a method raise."""

    def __init__(self, calls: list[Call]) -> None:
        self.calls = calls
        self._traps: dict[str, list[Any]] = {}   # method -> [calls to let through first, exception]
        self._seen: dict[str, int] = {}

    def trap(self, method: str, exc: BaseException, after: int = 0) -> None:
        """The call of `method` after `after` successful ones raises `exc` (once, before acting)."""
        self._traps[method] = [self._seen.get(method, 0) + after, exc]

    def _call(self, method: str, *args: Any) -> None:
        self.calls.append((method, *args))
        count = self._seen.get(method, 0)
        self._seen[method] = count + 1
        trap = self._traps.get(method)
        if trap is not None and count == trap[0]:
            del self._traps[method]
            raise trap[1]


class FakeProcess(_Recorder):
    """A NodeProcess that only changes its own flags; a trapped call raises before acting."""

    def __init__(self, name: str, calls: list[Call]) -> None:
        super().__init__(calls)
        self.name = name
        self.alive, self.paused = True, False

    def _act(self, method: str, **state: bool) -> None:
        self._call(method, self.name)
        vars(self).update(state)

    def start(self) -> None:
        self._act("start", alive=True)

    def kill(self) -> None:
        self._act("kill", alive=False)

    def request_stop(self) -> None:
        self._act("request_stop", alive=False)

    def terminate(self, timeout: float) -> None:
        self._act("terminate", alive=False)

    def pause(self) -> None:
        self._act("pause", paused=True)

    def resume(self) -> None:
        self._act("resume", paused=False)


class FakeCluster:
    """The target's side of selectors: nodes by number, who leads what, the active controller.
    Leaving it (its context) is recorded as ("cluster stopped",)."""

    def __init__(self, nodes: int, calls: list[Call]) -> None:
        self.calls = calls
        self.nodes = {i: FakeProcess(f"kafka-{i}", calls) for i in range(1, nodes + 1)}
        self.leaders: dict[tuple[str, ...], int] = {}     # selector args, e.g. ("orders", "0") -> node
        self.active_controller: int | None = 1

    def leader_of(self, *args: str) -> int:
        self.calls.append(("leader_of", *args))
        if args not in self.leaders:
            raise ClusterError(f"{'/'.join(args)} has no leader right now")   # as the Kafka target says
        return self.leaders[args]

    def controller(self) -> int | None:
        return self.active_controller

    def __enter__(self) -> FakeCluster:
        return self

    def __exit__(self, *exc: object) -> None:
        self.calls.append(("cluster stopped",))


class FakeNetwork(_Recorder):
    """NamespaceNetwork's partition/heal: grudges by key; healing a key twice is a KeyError."""

    def __init__(self, calls: list[Call]) -> None:
        super().__init__(calls)
        self.grudges: dict[int, dict[int, frozenset[int]]] = {}
        self.nodes = [1, 2, 3]

    def partition(self, key: int, grudge: dict[int, frozenset[int]]) -> None:
        self._call("partition", key)
        self.grudges[key] = grudge

    def heal(self, key: int) -> None:
        self._call("heal partition", key)
        del self.grudges[key]

    def reachability(self, extra: dict[int, frozenset[int]] | None = None) -> Reachability:
        """A network whose rules always hold: measured as the grudges in force intend (the real
        probes are shown on namespaces: tests/integration/test_reachability.py)."""
        merged = grudges.merge([*self.grudges.values(), *([extra] if extra else [])])
        wanted = intended([grudges.CLIENT, *self.nodes], merged)
        return Reachability(dict(wanted), wanted)


class FakeToxiproxy(_Recorder):
    """Toxiproxy's client: toxics by (proxy, name); removing one twice is a KeyError."""

    def __init__(self, calls: list[Call]) -> None:
        super().__init__(calls)
        self.toxics: dict[tuple[str, str], tuple[str, str, dict[str, Any]]] = {}
        self.disabled: set[str] = set()

    def add_toxic(self, proxy: str, name: str, kind: str, stream: str, toxicity: float,
                  attributes: dict[str, Any]) -> None:
        self._call("add_toxic", proxy, name)
        self.toxics[(proxy, name)] = (kind, stream, attributes)

    def remove_toxic(self, proxy: str, name: str) -> None:
        self._call("remove_toxic", proxy, name)
        del self.toxics[(proxy, name)]

    def set_enabled(self, proxy: str, enabled: bool) -> None:
        self._call("set_enabled", proxy, enabled)
        (self.disabled.discard if enabled else self.disabled.add)(proxy)


class FakeProxies:
    """ProxyNet's select(): one proxy per client group and node, named as ProxyNet names them."""

    def __init__(self, calls: list[Call], nodes: list[int], groups: tuple[str, ...]) -> None:
        self.client = FakeToxiproxy(calls)
        self.paths = [SimpleNamespace(group=g, node=n, name=f"{g}-n{n}") for g in groups for n in nodes]

    def select(self, link: Any, node: int | None) -> list[SimpleNamespace]:
        source = link.source if link.source_index is None else f"{link.source}{link.source_index}"
        return [p for p in self.paths if (node is None or p.node == node)
                and (source == "client" or p.group == source or p.group.rstrip("0123456789") == source)]


class Rig:
    """A cluster of stand-ins and a FaultInjector over it whose clock only moves by `tick_at`."""

    LOAD_START_NS = 1_800_000_000 * 10**9

    def __init__(self, schedule: Schedule, journal: Path, monkeypatch: pytest.MonkeyPatch, nodes: int = 3,
                 consumers: int = 2, proxy_groups: tuple[str, ...] = ("producer", "consumer1")) -> None:
        self.now_ns = self.LOAD_START_NS
        # the wall clock itself: the injector and the journal it writes through both read time.time_ns()
        monkeypatch.setattr(time, "time_ns", lambda: self.now_ns)
        self.calls: list[Call] = []
        self.cluster = FakeCluster(nodes, self.calls)
        self.consumers = SimpleNamespace(instances={i: FakeProcess(f"consumer-{i}", self.calls)
                                                    for i in range(1, consumers + 1)})
        self.network: FakeNetwork | None = FakeNetwork(self.calls)
        self.proxies: FakeProxies | None = FakeProxies(self.calls, list(self.cluster.nodes), proxy_groups)
        self.events: list[str] = []
        self.journal = journal
        self.injector = FaultInjector(schedule, self.env_for, journal, on_event=self.events.append)
        self.injector.start(self.LOAD_START_NS)

    def env_for(self, planned: PlannedFault) -> RunFaultEnv:
        return RunFaultEnv(self.cluster, self.consumers, random.Random(planned.seed), self.proxies, self.network)

    def node(self, i: int) -> FakeProcess:
        return self.cluster.nodes[i]

    def set_time(self, seconds: float) -> None:
        """The clock at `seconds` after the load started."""
        self.now_ns = self.LOAD_START_NS + round(seconds * 1e9)

    def tick_at(self, seconds: float) -> None:
        self.set_time(seconds)
        self.injector.tick()

    def journalled(self) -> list[dict[str, Any]]:
        if not self.journal.exists():
            return []
        return [json.loads(line) for line in self.journal.read_text().splitlines()]

    def acted(self) -> list[Call]:
        """The calls that changed something (leader look-ups left out)."""
        return [c for c in self.calls if c[0] != "leader_of"]
