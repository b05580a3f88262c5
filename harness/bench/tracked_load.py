"""Aftershock's own producers, unthrottled, against a running cluster: how many messages/s they
get acknowledged while ledgering every one. Shared by the produce benchmarks of every broker."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from harness.bench.base import BenchmarkFailed, Figure

UNTHROTTLED = 200_000   # the highest rate the scenario model allows: the users send as fast as they can


def tracked_throughput(cluster: Any, runtime: Any, run_dir: Path, target: dict[str, Any],
                       producer: dict[str, Any], seconds: float, users: int,
                       label: str = "aftershock") -> dict[str, Figure]:
    """Acknowledged messages/s counted from the producers' ledger within the load window, as
    `{label}_acked_per_s`, `{label}_attempted` and `{label}_errors`. Each call gets its own ledger."""
    from harness.scenario.model import Scenario
    from harness.services.load import LoadProcess
    from harness.wait import wait_until

    scenario = Scenario.model_validate({"name": "bench-produce", "target": target, "producer": producer,
                                        "load": {"users": users, "rate": UNTHROTTLED, "duration": seconds}})
    run_dir = run_dir / label
    (run_dir / "ledger").mkdir(parents=True, exist_ok=True)
    with LoadProcess(scenario, cluster.load_config(), run_dir, runtime) as load:
        wait_until(lambda: not load.running, what="the load process to finish", timeout=load.deadline,
                   interval=0.5, give_up_on=())
    with open(run_dir / "ledger" / "sends-load.csv") as ledger:
        rows = [row for row in csv.reader(ledger) if row]
    attempts = [int(row[2]) for row in rows if row[0] == "A"]
    if not attempts:
        raise BenchmarkFailed(f"the harness's producers sent nothing: see {run_dir / 'load.log'}")
    end = min(attempts) + int(seconds * 1e9)
    acked = sum(1 for row in rows if row[0] == "K" and int(row[2]) <= end)
    return {f"{label}_acked_per_s": round(acked / seconds, 1), f"{label}_attempted": len(attempts),
            f"{label}_errors": sum(1 for row in rows if row[0] == "E")}
