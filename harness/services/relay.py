"""The orchestrator's handle on the outbox relay: the process that publishes what producers committed.

Started before the load and stopped after the drain, so every committed row has its chance to be
published; faults reach it as `target: relay`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from harness.errors import ClusterError
from harness.paths import REPO
from harness.runtimes.base import ProcessSpec
from harness.runtimes.local import LocalProcess, LocalRuntime
from harness.scenario.model import Scenario
from harness.wait import wait_until

RELAY_APP = REPO / "targets" / "producers" / "outbox_relay.py"
READY_TIMEOUT = 30.0


def outbox_path(run_dir: Path) -> Path:
    """Where the producing service keeps its business records and outbox rows."""
    return run_dir / "producer" / "outbox.db"


class OutboxRelay:
    def __init__(self, scenario: Scenario, client_config: dict, run_dir: Path, run_id: str) -> None:
        outbox = scenario.producer.outbox
        assert outbox is not None, "only scenarios with producer.outbox have a relay"
        self._ready = run_dir / "producer" / "relay.ready"
        self._log = run_dir / "producer" / "relay.log"
        config = {
            **client_config,
            "producer": scenario.producer.model_dump(mode="python"),
            "outbox": str(outbox_path(run_dir)),
            "batch": outbox.batch,
            "poll": outbox.poll,
            "ledger_dir": str(run_dir / "ledger"),
            "ready": str(self._ready),
        }
        config_path = run_dir / "producer" / "relay-config.json"
        config_path.parent.mkdir(parents=True, exist_ok=True)
        config_path.write_text(json.dumps(config, indent=2))
        # A client of the brokers, like the consumers: always a local process.
        self.process: LocalProcess = LocalRuntime(run_id).process(ProcessSpec(
            name="relay", argv=[sys.executable, str(RELAY_APP), str(config_path)], log_path=self._log))

    def _started(self) -> bool:
        if not self.process.alive:
            raise ClusterError(f"the outbox relay exited during start-up: see {self._log}")
        return self._ready.exists()

    def __enter__(self) -> OutboxRelay:
        self.process.start()
        try:
            wait_until(self._started, what="the outbox relay", timeout=READY_TIMEOUT, logs=[self._log])
        except BaseException:
            self.process.terminate(timeout=10)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate(timeout=40)  # a publish in flight ends within delivery.timeout.ms
