"""Process faults: what happens to a node when its machine dies, hangs or is restarted."""

from __future__ import annotations

from typing import ClassVar

from harness.faults.base import register_fault
from harness.runtimes.base import NodeProcess

GRACEFUL_STOP_TIMEOUT = 30.0


def _start_if_down(victim: NodeProcess) -> None:
    if not victim.alive:
        victim.start()


@register_fault
class Kill:
    """SIGKILL: no flush, no goodbye to the cluster. Healed by starting the node again."""

    action: ClassVar[str] = "kill"
    heals: ClassVar[bool] = True

    def inject(self, victim: NodeProcess) -> None:
        victim.kill()

    def heal(self, victim: NodeProcess) -> None:
        _start_if_down(victim)


@register_fault
class Stop:
    """SIGTERM and wait: a clean shutdown (leadership handed over). Healed by starting it again."""

    action: ClassVar[str] = "stop"
    heals: ClassVar[bool] = True

    def inject(self, victim: NodeProcess) -> None:
        victim.terminate(timeout=GRACEFUL_STOP_TIMEOUT)

    def heal(self, victim: NodeProcess) -> None:
        _start_if_down(victim)


@register_fault
class Pause:
    """SIGSTOP: the process hangs (a GC pause, a frozen VM) with its sockets open. Healed by SIGCONT."""

    action: ClassVar[str] = "pause"
    heals: ClassVar[bool] = True

    def inject(self, victim: NodeProcess) -> None:
        victim.pause()

    def heal(self, victim: NodeProcess) -> None:
        victim.resume()


@register_fault
class Restart:
    """Clean stop then immediate start: a rolling restart of one node. Nothing to heal."""

    action: ClassVar[str] = "restart"
    heals: ClassVar[bool] = False

    def inject(self, victim: NodeProcess) -> None:
        victim.terminate(timeout=GRACEFUL_STOP_TIMEOUT)
        victim.start()

    def heal(self, victim: NodeProcess) -> None:
        _start_if_down(victim)
