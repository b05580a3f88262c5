"""Tracked produce throughput against Kafka's own tool, on one cluster in one run: Kafka's
ProducerPerformance (kafka-tools, resolved with the broker jars), then Aftershock's Locust
producers unthrottled on each Kafka client a scenario can choose (`producer.client`), with the
same acks, idempotence, message size and partitions.

The tool sets the ceiling the cluster allows on this machine; a ratio says how much of it the
harness reaches while ledgering every message. A harness far below the ceiling misses the
failures that only show under real load. The goal is on the best client: a user who needs the
load picks it."""

from __future__ import annotations

import re
import subprocess
import uuid
from pathlib import Path
from typing import get_args

from harness.bench.base import BenchContext, BenchmarkFailed, Figure, Goal, register
from harness.bench.tracked_load import tracked_throughput
from harness.runtimes.local import LocalRuntime

MESSAGE_SIZE = 200
PERF_LINE = re.compile(r"(\d+) records sent, ([\d.]+) records/sec")


def producer_performance(classpath: str, bootstrap: str, topic: str, records: int, log: Path) -> float:
    """records/s the tool reports for `records` messages, acks=all, idempotent, unthrottled."""
    argv = ["java", "-Xmx512m", "-cp", classpath, "org.apache.kafka.tools.ProducerPerformance",
            "--topic", topic, "--num-records", str(records), "--record-size", str(MESSAGE_SIZE),
            "--throughput", "-1", "--producer-props", f"bootstrap.servers={bootstrap}", "acks=all",
            "enable.idempotence=true", "linger.ms=5", "max.in.flight.requests.per.connection=5"]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    log.write_text(done.stdout + done.stderr)
    matches = PERF_LINE.findall(done.stdout)
    if done.returncode != 0 or not matches:
        raise BenchmarkFailed(f"ProducerPerformance failed (exit {done.returncode}): see {log}")
    sent, per_second = matches[-1]
    if int(sent) != records:
        raise BenchmarkFailed(f"ProducerPerformance sent {sent} of {records} records")
    return float(per_second)


@register
class KafkaProduceThroughput:
    name = "kafka-produce"
    summary = ("acked msg/s, acks=all idempotent, 200 B, 6 partitions x3: Aftershock's producers (each client)"
               " vs ProducerPerformance")
    seed = 0
    goals = (Goal("best_ratio", min=0.6),)

    def run(self, ctx: BenchContext) -> dict[str, Figure]:
        from harness.brokers.kafka.cluster import KafkaCluster
        from harness.brokers.kafka.spec import KafkaSpec
        from harness.scenario.model import ProducerSpec

        nodes, records, seconds = (1, 20_000, 3.0) if ctx.smoke else (3, 300_000, 15.0)
        spec = KafkaSpec(kind="kafka", nodes=nodes, broker_config={"min.insync.replicas": min(2, nodes)},
                           topic={"replication_factor": min(3, nodes)})
        run_id = f"as-{uuid.uuid4().hex[:8]}"
        run_dir = ctx.workdir / run_id
        run_dir.mkdir(parents=True)
        runtime = LocalRuntime(run_id)
        with KafkaCluster(spec, runtime, run_dir) as cluster:
            ctx.log(f"ProducerPerformance: {records:,} records")
            tool = producer_performance(cluster.classpath, cluster.bootstrap, spec.topic.name, records,
                                        run_dir / "producer-performance.log")
            figures: dict[str, Figure] = {"nodes": nodes, "tool_acked_per_s": round(tool, 1)}
            ratios = []
            for client in get_args(ProducerSpec.model_fields["client"].annotation):   # every client a scenario can pick
                ctx.log(f"Aftershock producers ({client}): {seconds:g} s unthrottled")
                label = client.replace("-", "_")
                figures |= tracked_throughput(
                    cluster, runtime, run_dir, {"kind": "kafka"},
                    {"client": client, "acks": "all", "enable_idempotence": True, "message_size": MESSAGE_SIZE,
                     "linger": 0.005}, seconds, users=4, label=label)
                figures[f"{label}_ratio"] = round(float(figures[f"{label}_acked_per_s"]) / tool, 3)
                ratios.append(figures[f"{label}_ratio"])
        return figures | {"best_ratio": max(ratios)}
