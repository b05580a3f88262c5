"""Cluster cycle time: bring-up to readiness and teardown of the clusters every run starts, as the
harness does it (the same targets, local runtime), median of three cycles each.

A scenario pays this before and after its load: with a dozen runs in a CI job it decides whether a
suite fits its time box."""

from __future__ import annotations

import statistics
import time
import uuid
from pathlib import Path

from harness.bench.base import BenchContext, Figure, Goal, register
from harness.brokers import all_brokers, broker
from harness.runtimes.local import LocalRuntime


def cycle(kind: str, nodes: int, workdir: Path) -> tuple[float, float]:
    """(seconds to ready, seconds to torn down) for one fresh cluster of `kind`."""
    spec = broker(kind).sample(nodes)
    run_id = f"as-{uuid.uuid4().hex[:8]}"
    run_dir = workdir / run_id
    run_dir.mkdir(parents=True)
    runtime = LocalRuntime(run_id)
    cluster = broker(kind).clusters[runtime.node_form](spec, runtime, run_dir)
    start = time.monotonic()
    with cluster:
        ready = time.monotonic()
    return ready - start, time.monotonic() - ready


@register
class ClusterCycle:
    name = "cluster-cycle"
    summary = "bring-up to readiness + teardown, 3-node Kafka (KRaft) and RabbitMQ, median of 3"
    seed = 0
    goals = (Goal("kafka_cycle_s", max=20.0), Goal("rabbitmq_cycle_s", max=20.0))

    def run(self, ctx: BenchContext) -> dict[str, Figure]:
        nodes, cycles = (1, 1) if ctx.smoke else (3, 3)
        figures: dict[str, Figure] = {"nodes": nodes, "cycles": cycles}
        for kind in all_brokers():
            ups, downs = [], []
            for n in range(cycles):
                up, down = cycle(kind, nodes, ctx.workdir)
                ctx.log(f"{kind} cycle {n + 1}/{cycles}: up {up:.1f} s, down {down:.1f} s")
                ups.append(up)
                downs.append(down)
            totals = [u + d for u, d in zip(ups, downs)]
            figures |= {f"{kind}_up_s": round(statistics.median(ups), 2),
                        f"{kind}_down_s": round(statistics.median(downs), 2),
                        f"{kind}_cycle_s": round(statistics.median(totals), 2)}
        return figures
