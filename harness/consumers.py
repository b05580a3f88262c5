"""The sample consumer group: N instances of the target's consumer application."""

from __future__ import annotations

from pathlib import Path

from harness.errors import ClusterError
from harness.runtimes.base import NodeProcess
from harness.runtimes.local import LocalRuntime
from harness.scenario.model import ConsumerSpec
from harness.targets.base import Target
from harness.wait import wait_until

READY_TIMEOUT = 60.0


class ConsumerGroup:
    """Starts every instance, waits until each has joined the group; stops them gracefully."""

    def __init__(self, target: Target, consumer: ConsumerSpec, run_dir: Path, run_id: str) -> None:
        runtime = LocalRuntime(run_id)  # consumers are clients: always local processes
        self.ledger_dir = run_dir / "ledger"
        self.instances: dict[int, NodeProcess] = {}
        for i in range(1, consumer.instances + 1):
            spec = target.consumer_spec(i, self.ledger_dir / f"deliveries-{i}.csv",
                                        run_dir / "consumers" / f"consumer-{i}.log", consumer)
            self.instances[i] = runtime.process(spec)
        self._logs = [run_dir / "consumers" / f"consumer-{i}.log" for i in self.instances]

    def __enter__(self) -> "ConsumerGroup":
        try:
            for proc in self.instances.values():
                proc.start()
            wait_until(self._all_joined, what="every consumer instance to join its group",
                       timeout=READY_TIMEOUT, logs=self._logs)
        except BaseException:
            self.__exit__()
            raise
        return self

    def _all_joined(self) -> bool:
        for i, proc in self.instances.items():
            if not proc.alive:
                raise ClusterError(f"consumer-{i} exited during start-up: see {self._logs[i - 1]}")
        return all((self.ledger_dir / f"deliveries-{i}.ready").exists() for i in self.instances)

    def stop(self) -> None:
        for proc in self.instances.values():
            proc.request_stop()
        for proc in self.instances.values():
            proc.terminate(timeout=15)

    def __exit__(self, *exc: object) -> None:
        self.stop()
