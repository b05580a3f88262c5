"""Tracked publish throughput against a reference publisher, on one RabbitMQ cluster in one run:
the reference (same client library and settings, a tight loop, harness/bench/rabbit_reference.py),
then Aftershock's Locust producers unthrottled, both with publisher confirms into a quorum queue.
PerfTest would be the broker's own tool, but it is a Java application outside Maven Central's
plain dependency path; a reference in the same library isolates what the harness itself costs."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid

from harness.bench.base import BenchContext, BenchmarkFailed, Figure, Goal, register
from harness.bench.tracked_load import tracked_throughput
from harness.runtimes.local import LocalRuntime

MESSAGE_SIZE = 200
PUBLISHERS = 4


@register
class RabbitPublishThroughput:
    name = "rabbitmq-publish"
    summary = "confirmed msg/s, quorum queue, persistent, 200 B: Aftershock's producers vs a pika reference publisher"
    seed = 0
    goals = (Goal("ratio", min=0.6),)

    def run(self, ctx: BenchContext) -> dict[str, Figure]:
        from harness.brokers.rabbitmq.cluster import RabbitCluster
        from harness.brokers.rabbitmq.spec import RabbitSpec

        nodes, seconds = (1, 3.0) if ctx.smoke else (3, 15.0)
        spec = RabbitSpec(kind="rabbitmq", nodes=nodes, queue={"type": "quorum"})
        run_id = f"as-{uuid.uuid4().hex[:8]}"
        run_dir = ctx.workdir / run_id
        run_dir.mkdir(parents=True)
        runtime = LocalRuntime(run_id)
        with RabbitCluster(spec, runtime, run_dir) as cluster:
            brokers = ",".join(cluster.routes.dial("producer"))
            ctx.log(f"reference publisher: {PUBLISHERS} publishers, {seconds:g} s")
            done = subprocess.run(
                [sys.executable, "-m", "harness.bench.rabbit_reference", "--brokers", brokers, "--queue",
                 spec.queue.name, "--seconds", str(seconds), "--publishers", str(PUBLISHERS), "--size",
                 str(MESSAGE_SIZE)], capture_output=True, text=True, timeout=seconds + 120)
            if done.returncode != 0:
                raise BenchmarkFailed(f"the reference publisher failed: {done.stderr[-2000:]}")
            reference = json.loads(done.stdout.strip().splitlines()[-1])
            tool = reference["confirmed"] / reference["seconds"]
            ctx.log(f"Aftershock producers: {seconds:g} s unthrottled")
            ours = tracked_throughput(
                cluster, runtime, run_dir, {"kind": "rabbitmq", "queue": {"type": "quorum"}},
                {"confirms": True, "persistent": True, "mandatory": True, "message_size": MESSAGE_SIZE},
                seconds, users=PUBLISHERS)
        return {"nodes": nodes, "reference_confirmed_per_s": round(tool, 1), **ours,
                "ratio": round(float(ours["aftershock_acked_per_s"]) / tool, 3)}
