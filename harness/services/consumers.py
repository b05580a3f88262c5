"""The sample consumer group: N instances of the broker's consumer application."""

from __future__ import annotations

import json
from dataclasses import replace
from importlib import metadata
from pathlib import Path

from harness.brokers.base import Cluster
from harness.errors import ClusterError
from harness.runtimes.base import NodeProcess
from harness.runtimes.local import LocalRuntime
from harness.scenario.sections import ConsumerSpec
from harness.wait import wait_until

READY_TIMEOUT = 60.0


class ConsumerGroup:
    """Starts every instance, waits until each has joined the group; stops them gracefully."""

    def __init__(self, cluster: Cluster, consumer: ConsumerSpec, run_dir: Path, run_id: str, seed: int = 0,
                 downstream_urls: dict[int, str] | None = None, drops: str | None = None) -> None:
        runtime = LocalRuntime(run_id)  # consumers are clients: always local processes
        self.cluster, self.spec = cluster, consumer
        self.facts: dict[str, str] = {}      # the group's protocol and client, once they joined
        self.ledger_dir = run_dir / "ledger"
        patterns = run_dir / "consumers" / "patterns.json"
        patterns.parent.mkdir(parents=True, exist_ok=True)
        dlq = consumer.dead_letter.destination if consumer.dead_letter else None
        patterns.write_text(json.dumps({
            "consumer": consumer.model_dump(mode="json"), "seed": seed, "downstream_urls": downstream_urls or {},
            "store_path": str(run_dir / "consumers" / f"{consumer.group}-processed.db"), "dlq": dlq}, indent=2))
        self.instances: dict[int, NodeProcess] = {}
        for i in range(1, consumer.instances + 1):
            spec = cluster.consumer_spec(i, self.ledger_dir / f"deliveries-{i}.csv",
                                        run_dir / "consumers" / f"consumer-{i}.log", consumer)
            self.instances[i] = runtime.process(replace(spec, argv=[*spec.argv, "--patterns", str(patterns)]))
        self._partitions = cluster.assignable_partitions()
        self._logs = [run_dir / "consumers" / f"consumer-{i}.log" for i in self.instances]
        # The dead-letter reader, and the reader of what a limit dropped (`drops`, Cluster.add_drop_record),
        # are the harness's, not services: faults never target them.
        self.readers: dict[str, NodeProcess] = {}
        self._ready: list[Path] = []
        for queue, ledger, name in ((dlq, "dlq-reader", "dlq-reader"), (drops, "drops-reader", "drop-reader")):
            if queue:
                spec = cluster.dead_letter_reader_spec(queue, self.ledger_dir / f"{ledger}.csv",
                                                       run_dir / "consumers" / f"{name}.log")
                self.readers[queue] = runtime.process(replace(spec, name=name))
                self._ready.append(self.ledger_dir / f"{ledger}.ready")

    def __enter__(self) -> ConsumerGroup:
        try:
            for proc in [*self.instances.values(), *self.readers.values()]:
                proc.start()
            wait_until(self._all_joined,
                       what="every consumer instance to join its group and every partition to have an owner",
                       timeout=READY_TIMEOUT, logs=self._logs)
            self._check_protocol()
        except BaseException:
            self.__exit__()
            raise
        return self

    def _check_protocol(self) -> None:
        """The group protocol the broker says the group runs must be the one asked for: a setting that
        did not take (a client falling back to classic) would judge another system than the scenario's."""
        if not self.instances:
            return
        running = self.cluster.group_protocol(self.spec.group)
        if running is not None and running != self.spec.group_protocol:
            raise ClusterError(f"consumer group {self.spec.group} runs the {running} protocol; the scenario"
                               f" asks for {self.spec.group_protocol}")
        if running is not None:   # a broker with groups: its consumers run the scenario's client
            client = self.spec.client
            self.facts = {"group_protocol": running, "consumer": f"{client} {metadata.version(client)}"}

    def _all_joined(self) -> bool:
        for i, proc in self.instances.items():
            if not proc.alive:
                raise ClusterError(f"consumer-{i} exited during start-up: see {self._logs[i - 1]}")
        markers = [self.ledger_dir / f"deliveries-{i}.ready" for i in self.instances]
        if not all(m.exists() for m in [*markers, *self._ready]):
            return False
        return self._partitions is None or assigned(markers) >= set(range(self._partitions))

    def stop(self) -> None:
        everyone = [*self.instances.values(), *self.readers.values()]
        for proc in everyone:
            proc.request_stop()
        for proc in everyone:
            proc.terminate(timeout=15)

    def __exit__(self, *exc: object) -> None:
        self.stop()


def assigned(markers: list[Path]) -> set[int]:
    """The partitions the instances' ready markers say they own (each holds its latest assignment)."""
    owned: set[int] = set()
    for marker in markers:
        text = marker.read_text().strip()
        owned.update(json.loads(text) if text else [])
    return owned
