"""Tracked produce throughput against Kafka's own tool, on one cluster in one run: Kafka's
ProducerPerformance (kafka-tools, resolved with the broker jars), then Aftershock's Locust
producers unthrottled, with the same acks, idempotence, message size and partitions.

The tool sets the ceiling the cluster allows on this machine; the ratio says how much of it the
harness reaches while ledgering every message. A harness far below the ceiling misses the
failures that only show under real load."""

from __future__ import annotations

import csv
import re
import subprocess
import uuid
from pathlib import Path

from harness.bench.base import BenchContext, BenchmarkFailed, Figure, Goal, register
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


def aftershock_producers(cluster: object, runtime: LocalRuntime, run_dir: Path, seconds: float, users: int) -> dict[str, Figure]:
    """Acknowledged messages/s of the harness's own producers, unthrottled (the highest rate the
    model allows), counted from their ledger within the load window."""
    from harness.load.process import LoadProcess
    from harness.scenario.model import Scenario
    from harness.wait import wait_until

    scenario = Scenario.model_validate({
        "name": "bench-produce", "target": {"kind": "kafka"},
        "producer": {"acks": "all", "enable_idempotence": True, "message_size": MESSAGE_SIZE, "linger": 0.005},
        "load": {"users": users, "rate": 200_000, "duration": seconds}})
    (run_dir / "ledger").mkdir(parents=True, exist_ok=True)
    with LoadProcess(scenario, cluster.load_config(), run_dir, runtime) as load:  # type: ignore[attr-defined]
        wait_until(lambda: not load.running, what="the load process to finish", timeout=load.deadline,
                   interval=0.5, give_up_on=())
    rows = list(csv.reader(open(run_dir / "ledger" / "sends-load.csv")))
    attempts = [int(r[2]) for r in rows if r and r[0] == "A"]
    if not attempts:
        raise BenchmarkFailed(f"the harness's producers sent nothing: see {run_dir / 'load.log'}")
    start = min(attempts)
    end = start + int(seconds * 1e9)
    acked = sum(1 for r in rows if r and r[0] == "K" and int(r[2]) <= end)
    errors = sum(1 for r in rows if r and r[0] == "E")
    return {"aftershock_acked_per_s": round(acked / seconds, 1), "aftershock_attempted": len(attempts),
            "aftershock_errors": errors}


@register
class KafkaProduceThroughput:
    name = "kafka-produce"
    summary = "acked msg/s, acks=all idempotent, 200 B, 6 partitions x3: Aftershock's producers vs ProducerPerformance"
    seed = 0
    goals = (Goal("ratio", min=0.6),)

    def run(self, ctx: BenchContext) -> dict[str, Figure]:
        from harness.scenario.model import KafkaTarget
        from harness.targets.kafka import KafkaCluster

        nodes, records, seconds = (1, 20_000, 3.0) if ctx.smoke else (3, 300_000, 15.0)
        spec = KafkaTarget(kind="kafka", nodes=nodes, broker_config={"min.insync.replicas": min(2, nodes)},
                           topic={"replication_factor": min(3, nodes)})
        run_id = f"as-{uuid.uuid4().hex[:8]}"
        run_dir = ctx.workdir / run_id
        run_dir.mkdir(parents=True)
        runtime = LocalRuntime(run_id)
        with KafkaCluster(spec, runtime, run_dir) as cluster:
            ctx.log(f"ProducerPerformance: {records:,} records")
            tool = producer_performance(cluster.classpath, cluster.bootstrap, spec.topic.name, records,
                                        run_dir / "producer-performance.log")
            ctx.log(f"Aftershock producers: {seconds:g} s unthrottled")
            ours = aftershock_producers(cluster, runtime, run_dir, seconds, users=4)
        return {"nodes": nodes, "tool_acked_per_s": round(tool, 1), **ours,
                "ratio": round(float(ours["aftershock_acked_per_s"]) / tool, 3)}
