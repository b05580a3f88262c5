"""The orchestrator's handle on the load process (Locust runs there, never here)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from harness.runtimes.base import ProcessSpec, Runtime
from harness.runtimes.local import LocalProcess, LocalRuntime
from harness.scenario.model import DEFAULT_KAFKA_CLIENT, Scenario
from harness.services.relay import outbox_path

FINISH_TIMEOUT = 30.0
CLOSE_TIMEOUT = 5.0   # closing the producer clients (side by side) after the shared finish deadline


def user_kind(scenario: Scenario, broker_kind: str) -> str:
    """The USERS key: the outbox, a Kafka client other than the default, or the broker's own user."""
    if scenario.producer.outbox is not None:
        return "outbox"
    return broker_kind if scenario.producer.client == DEFAULT_KAFKA_CLIENT else scenario.producer.client


class LoadProcess:
    """Starts `harness.load.main` with the scenario's load settings; stats are read after it exits."""

    def __init__(self, scenario: Scenario, client_config: dict[str, Any], run_dir: Path, runtime: Runtime) -> None:
        self.run_dir = run_dir
        self.stats_path = run_dir / "load-stats.json"
        config = {
            "kind": client_config["kind"],
            "user": user_kind(scenario, client_config["kind"]),
            "outbox": str(outbox_path(run_dir)),
            "destination": client_config["topic"],
            "target": client_config,
            "seed": scenario.seed,
            "users": scenario.load.users,
            "rate": scenario.load.rate,
            "duration": scenario.load.duration,
            "message_size": scenario.producer.message_size,
            "producer": scenario.producer.model_dump(mode="python"),
            "ledger": str(run_dir / "ledger" / "sends-load.csv"),
            "stats": str(self.stats_path),
            "finish_timeout": FINISH_TIMEOUT,
        }
        config_path = run_dir / "load-config.json"
        config_path.write_text(json.dumps(config, indent=2))
        # Locust always runs as a local process: it is the client, whatever runs the brokers.
        local: LocalRuntime = runtime.clients()
        self.process: LocalProcess = local.process(ProcessSpec(
            name="load", argv=[sys.executable, "-m", "harness.load.main", str(config_path)],
            log_path=run_dir / "load.log"))
        # the users finish side by side within FINISH_TIMEOUT, then close (up to CLOSE_TIMEOUT)
        self.deadline = scenario.load.duration + FINISH_TIMEOUT + CLOSE_TIMEOUT + 30

    def __enter__(self) -> LoadProcess:
        self.process.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate(timeout=FINISH_TIMEOUT)

    @property
    def running(self) -> bool:
        return self.process.alive

    def stats(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.stats_path.read_text())
        except (OSError, ValueError):
            return None
