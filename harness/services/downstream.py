"""The downstream service the sample consumers call, started and stopped by the harness."""

from __future__ import annotations

import sys
from pathlib import Path

import requests

from harness.paths import REPO
from harness.runtimes.base import ProcessSpec
from harness.runtimes.local import LocalProcess, LocalRuntime
from harness.wait import wait_until

INVENTORY_APP = REPO / "targets" / "services" / "inventory.py"


class DownstreamService:
    """`inventory` on a free port (loopback unless told); its side-effect ledger goes beside the others."""

    def __init__(self, runtime: LocalRuntime, run_dir: Path, name: str = "inventory", host: str = "127.0.0.1") -> None:
        """`host`: where it listens; the Docker runtime's Toxiproxy container reaches the host at
        the run network's gateway address, not at loopback."""
        self.name = name
        self.port = runtime.free_port()
        self.url = f"http://{host}:{self.port}"
        self.process: LocalProcess = runtime.process(ProcessSpec(
            name=name, log_path=run_dir / f"{name}.log",
            argv=[sys.executable, str(INVENTORY_APP), "--host", host, "--port", str(self.port),
                  "--ledger", str(run_dir / "ledger" / f"effects-{name}.csv")]))

    def _healthy(self) -> bool:
        return requests.get(f"{self.url}/health", timeout=2).status_code == 200

    def __enter__(self) -> DownstreamService:
        self.process.start()
        try:
            wait_until(self._healthy, what=f"the {self.name} service", timeout=20, interval=0.2,
                       logs=[self.process.spec.log_path])
        except BaseException:
            self.process.terminate(timeout=5)
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.process.terminate(timeout=10)
