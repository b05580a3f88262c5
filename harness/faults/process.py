"""Process faults: what happens to a node when its machine dies, hangs or is restarted."""

from __future__ import annotations

from typing import ClassVar, Literal

from harness.faults.base import FaultEntry, FaultEnv, Silence, Silenced, Verification, register_entry, register_fault
from harness.runtimes.base import NodeProcess
from harness.scenario.selectors import Selector, SelectorField

GRACEFUL_STOP_TIMEOUT = 30.0


@register_entry
class ProcessFault(FaultEntry):
    """A broker node or consumer process dies, hangs or restarts."""

    action: Literal["kill", "stop", "pause", "restart"]
    target: SelectorField

    def what(self) -> str:
        return str(self.target)

    def selectors(self) -> list[tuple[str, Selector]]:
        return [("target", self.target)]

    def silences(self) -> list[Silence]:
        how = _SILENCED.get(self.action)
        return [Silence(self.target, how)] if how is not None else []


_SILENCED: dict[str, Silenced] = {"kill": "crash", "pause": "hang"}   # stop and restart say goodbye first


class _ProcessFault:
    heals: ClassVar[bool] = True

    def __init__(self, spec: ProcessFault) -> None:
        self.spec = spec
        self.victim: NodeProcess | None = None

    def inject(self, env: FaultEnv) -> list[str]:
        name, self.victim = env.process(self.spec.target)
        self.hit(self.victim)
        return [name]

    def heal(self, env: FaultEnv) -> None:
        if self.victim is not None:
            self.mend(self.victim)

    def verify(self, env: FaultEnv, healed: bool) -> Verification | None:
        return None   # the process's state is the runtime's word; what it did, the cluster's record says

    def hit(self, victim: NodeProcess) -> None:
        raise NotImplementedError

    def mend(self, victim: NodeProcess) -> None:
        if not victim.alive:
            victim.start()


@register_fault("kill")
class Kill(_ProcessFault):
    """SIGKILL: no flush, no goodbye to the cluster. Healed by starting the node again."""

    def hit(self, victim: NodeProcess) -> None:
        victim.kill()


@register_fault("stop")
class Stop(_ProcessFault):
    """SIGTERM and wait: a clean shutdown (leadership handed over). Healed by starting it again."""

    def hit(self, victim: NodeProcess) -> None:
        victim.terminate(timeout=GRACEFUL_STOP_TIMEOUT)


@register_fault("pause")
class Pause(_ProcessFault):
    """SIGSTOP: the process hangs (a GC pause, a frozen VM) with its sockets open. Healed by SIGCONT."""

    def hit(self, victim: NodeProcess) -> None:
        victim.pause()

    def mend(self, victim: NodeProcess) -> None:
        victim.resume()


@register_fault("restart")
class Restart(_ProcessFault):
    """Clean stop then immediate start: a rolling restart of one node. Nothing to heal."""

    heals: ClassVar[bool] = False

    def hit(self, victim: NodeProcess) -> None:
        victim.terminate(timeout=GRACEFUL_STOP_TIMEOUT)
        victim.start()
