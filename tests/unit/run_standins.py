"""In-process stand-ins for what a Run brings up, so the orchestrator's phases run end to end with no
broker, container or namespace: a broker registered by the documented `Broker` record, whose cluster
is a context manager of recording node objects; a runtime kind whose network and runtime record
their entry and exit; and a consumer that is a few lines of plain Python delivering what the
producer ledger says was acknowledged. Every stand-in writes to one journal (`STAGE.journal`) so a
test can assert the order of everything; `STAGE.hooks` runs a callable at a journal event (before
the stand-in acts), to make a call fail or to signal the run at an exact point.

`register()` adds the `standin` broker; the load process (a real subprocess) calls it through an
`aftershock.brokers` entry point, as a plugin's broker would register."""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from harness.brokers.base import BROKERS, Broker, register_broker
from harness.brokers.routes import ClientRoutes
from harness.runtimes.base import ProcessSpec
from harness.runtimes.local import LocalRuntime
from harness.scenario.strict import Strict

KIND = "standin"
USER = "standin_user:AckingUser"   # written by the test beside the entry point: it imports Locust


@dataclass
class Stage:
    """What every stand-in shares with the test: the journal, hooks at its events, the consumers' mode."""

    journal: list[str] = field(default_factory=list)
    hooks: dict[str, Callable[[], None]] = field(default_factory=dict)
    deliver: bool = True               # the stand-in consumers deliver what was acknowledged
    cluster: StandinCluster | None = None
    cluster_view: str = "moves"        # "frozen": the observer's view never moves a leader

    def record(self, event: str) -> None:
        self.journal.append(event)
        hook = self.hooks.pop(event, None)
        if hook is not None:
            hook()

    def reset(self) -> None:
        self.journal.clear()
        self.hooks.clear()
        self.deliver, self.cluster, self.cluster_view = True, None, "moves"


STAGE = Stage()


class StandinNode:
    """A NodeProcess that only changes its flags; each call is journalled as '<call> <name>'."""

    def __init__(self, name: str, log_path: Path) -> None:
        self.name = name
        self.spec = ProcessSpec(name=name, argv=["standin"], log_path=log_path)
        self.alive = self.paused = self.stopped_on_purpose = False
        self.returncode: int | None = None
        self.pid: int | None = None

    def _stopped(self, call: str, returncode: int) -> None:
        STAGE.record(f"{call} {self.name}")
        self.alive, self.paused, self.stopped_on_purpose, self.returncode = False, False, True, returncode

    def start(self) -> None:
        STAGE.record(f"start {self.name}")
        self.alive, self.paused, self.stopped_on_purpose, self.returncode = True, False, False, None

    def kill(self) -> None:
        self._stopped("kill", -9)

    def request_stop(self) -> None:
        self._stopped("request_stop", 0)

    def terminate(self, timeout: float) -> None:
        self._stopped("terminate", 0)

    def pause(self) -> None:
        STAGE.record(f"pause {self.name}")
        self.paused = True

    def resume(self) -> None:
        STAGE.record(f"resume {self.name}")
        self.paused = False

    def crash(self) -> None:
        """An exit nobody asked for (the process died on its own)."""
        STAGE.journal.append(f"crash {self.name}")
        self.alive, self.returncode = False, 1


# A stand-in consumer: delivers every acknowledged id of the producer ledgers once (or nothing, with
# "0"), after its ready marker; SIGTERM ends it after the current pass, so no row is torn.
CONSUMER = """
import glob, os, signal, sys, time
ledger, number, deliver = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
stop = []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
open(ledger[:-len(".csv")] + ".ready", "w").close()
seen = set()
with open(ledger, "a") as out:
    while not stop:
        for path in glob.glob(os.path.join(os.path.dirname(ledger), "sends-*.csv")):
            with open(path) as sends:
                lines = sends.read().split("\\n")[:-1]
            for line in lines:
                event, mid, _, partition, offset, _ = line.split(",", 5)
                if deliver and event == "K" and mid not in seen:
                    seen.add(mid)
                    out.write(f"{mid},{partition},{offset},{time.time_ns()},{number},0\\n")
        out.flush()
        time.sleep(0.1)
"""


class StandinCluster:
    """The Cluster protocol over StandinNodes: entering starts every node, leaving stops them."""

    kind = KIND

    def __init__(self, spec: Any, runtime: Any, run_dir: Path, groups: tuple[str, ...], via: Any) -> None:
        numbers = range(1, spec.nodes + 1)
        self.nodes = {i: StandinNode(f"standin-{i}", run_dir / f"standin-{i}.log") for i in numbers}
        self.routes = ClientRoutes({(g, i): ("127.0.0.1", 9000 + i) for g in groups for i in numbers}, via)
        STAGE.cluster = self
        STAGE.record("cluster built")

    def __enter__(self) -> StandinCluster:
        try:
            STAGE.record("cluster starting")
            for node in self.nodes.values():
                node.start()
            STAGE.record("cluster ready")
        except BaseException:
            self.__exit__()   # as the real clusters do: what started is stopped before the error goes on
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        for node in self.nodes.values():
            if node.alive:
                node.terminate(timeout=1)
        STAGE.record("cluster stopped")

    def leader_of(self, *args: str) -> int:
        return 1

    def controller(self) -> int:
        return 1

    def load_config(self) -> dict[str, Any]:
        return {"kind": KIND, "topic": "orders"}

    def consumer_spec(self, instance: int, ledger: Path, log_path: Path, consumer: Any) -> ProcessSpec:
        argv = [sys.executable, "-c", CONSUMER, str(ledger), str(instance), "1" if STAGE.deliver else "0"]
        return ProcessSpec(name=f"consumer-{instance}", argv=argv, log_path=log_path)

    def add_destination(self, name: str) -> None:
        raise NotImplementedError("the stand-in has no dead-letter destination")

    def add_drop_record(self, consumer: Any) -> str | None:
        return None   # the stand-in discards nothing by design

    def dead_letter_reader_spec(self, name: str, ledger: Path, log_path: Path) -> ProcessSpec:
        raise NotImplementedError("the stand-in has no dead-letter destination")

    def versions(self) -> dict[str, str]:
        return {KIND: "1.0"}

    def settings(self) -> dict[str, Any]:
        return {}

    def assignable_partitions(self) -> int | None:
        return None

    def group_protocol(self, group: str) -> str | None:
        return None

    def groups(self) -> dict[str, Any]:
        return {}

    def backlog(self) -> int | None:
        STAGE.record("backlog")
        return None   # cannot tell: a drain never ends on it

    def positions(self) -> list[dict[str, Any]]:
        STAGE.record("positions")
        return [{"topic": "orders", "partition": 0, "end": 0, "committed": 0}]

    def replicas(self) -> dict[str, Any]:
        return {"orders": [{"partition": 0, "leader": 1, "isr": [1, 2, 3], "elr": []}]}

    @contextmanager
    def observation(self) -> Iterator[Any]:
        """orders/0 led by node 1 while it runs unpaused, else by the first node that does (a
        stand-in of a failover: node 1 leads, as leader_of says), each look journalled."""
        from harness.observer import Fact

        def view() -> list[Fact]:
            STAGE.record("look")
            up = [n.name for n in self.nodes.values() if n.alive and not n.paused]
            if STAGE.cluster_view == "frozen":
                up = [self.nodes[1].name]
            return [Fact("partition:orders/0", "leader", up[0] if up else "-1")]

        STAGE.record("observer up")
        try:
            yield view
        finally:
            STAGE.record("observer down")


class StandinNetwork:
    def __enter__(self) -> StandinNetwork:
        STAGE.record("network up")
        return self

    def __exit__(self, *exc: object) -> None:
        STAGE.record("network down")


class StandinRuntime(LocalRuntime):
    """The local runtime (the load and consumers are real local processes), its entry and exit journalled."""

    def __enter__(self) -> StandinRuntime:
        STAGE.record("runtime up")
        return self

    def __exit__(self, *exc: object) -> None:
        STAGE.record("runtime down")


class StandinKind:
    """A RuntimeKind: a journalled network, and the journalled local runtime (beside no namespace)."""

    node_form = "process"
    no_proxies = None
    acts_on_project = False
    disconnects = False

    def network(self, run_id: str, kind: str, nodes: list[int], isolation: str, project: str | None = None) -> Any:
        return StandinNetwork()

    def runtime(self, run_id: str, network: Any, run_dir: Path) -> StandinRuntime:
        return StandinRuntime(run_id)


class StandinSpec(Strict):
    kind: Literal["standin"]
    nodes: int = Field(3, ge=1, le=9)


class Rules:
    def check_consumer(self, scenario: Any) -> None: ...
    def check_form(self, scenario: Any, form: str) -> None: ...
    def check_clients(self, scenario: Any) -> None: ...
    def check_leader(self, scenario: Any, sel: Any, where: Any) -> None: ...
    def detectors(self, scenario: Any, silence: Any) -> list[Any]:
        return []


def build_cluster(*args: Any) -> Any:
    """The Broker's factory (typed Any: the stand-in's nodes are StandinNodes, not the protocol's type)."""
    return StandinCluster(*args)


BROKER = Broker(kind=KIND, spec=StandinSpec, rules=Rules(), clusters={"process": build_cluster},
                users={KIND: USER}, image=lambda: "standin:1", sample=lambda nodes: StandinSpec(kind=KIND, nodes=nodes))


def register() -> None:
    """The load process's plugin module calls this; in the test process the broker is registered
    only while a test runs (a fixture sets BROKERS[KIND]), so no other test sees it."""
    if KIND not in BROKERS:
        register_broker(BROKER)
