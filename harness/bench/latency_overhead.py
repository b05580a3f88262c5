"""End-to-end latency with and without the harness's recording, on one Kafka cluster in one run, at
a fixed moderate rate: phases of a reference pair (harness/bench/kafka_reference.py: the same client
library, settings, pacing and consumer loop, latencies kept in memory) alternate with phases of the
harness's own path (Locust producers and the sample consumers, both ledgering every message), whose
latency is read from the ledgers with the query a run's latency check uses.

Every latency a run reports is only the broker's if recording does not slow delivery. On a shared
machine one phase can be slow for reasons of its own: the paths alternate in rounds (AB, BA, AB...)
so slow drift cancels, and the spread of the rounds' ratios says how far one round can be trusted."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from harness.bench.base import BenchContext, BenchmarkFailed, Figure, Goal, register
from harness.ledger.schema import SEQ_BITS
from harness.runtimes.base import ProcessSpec
from harness.runtimes.local import LocalRuntime
from harness.wait import wait_until

REFERENCE_TOPIC = "reference"
REFERENCE_GROUP = "reference"
PRODUCERS = 4          # the scenario's default users, and as many reference producer clients
CONSUMERS = 2          # the scenario's default consumer instances, and as many reference consumers
READY_TIMEOUT = 60.0
DRAIN_TIMEOUT = 30.0   # after the producers stopped, for the consumers to receive what was acknowledged
PATHS = ("unrecorded", "recorded")


@dataclass(frozen=True)
class Pace:
    rate: float        # msg/s over all producers
    seconds: float     # of sending, per phase
    skip: float        # first seconds of a phase left out: clients still fetching metadata and connecting


@dataclass(frozen=True)
class Phase:
    latencies_ns: np.ndarray   # first delivery - send, per message sent after the skipped start
    sent: int                  # messages sent in the whole phase: the rate the producers held


@register
class LatencyOverhead:
    name = "latency-overhead"
    summary = ("e2e latency p50/p99, 500 msg/s, acks=all, 3 brokers: the harness's ledgered producers and "
               "consumers vs a reference pair recording nothing, 3 alternating rounds")
    seed = 0
    goals = (Goal("p50_ratio", max=1.5), Goal("p99_ratio", max=1.5))

    def run(self, ctx: BenchContext) -> dict[str, Figure]:
        from harness.brokers.kafka.cluster import KafkaCluster
        from harness.brokers.kafka.spec import KafkaSpec
        from harness.scenario.model import Scenario
        from harness.services.proxies import client_groups

        nodes, rounds, pace, warmup = ((1, 1, Pace(200, 3.0, 0.5), 0.0) if ctx.smoke
                                       else (3, 3, Pace(500, 10.0, 2.0), 5.0))
        scenario = Scenario.model_validate({
            "name": "bench-latency", "seed": self.seed,
            "target": {"kind": "kafka", "nodes": nodes, "broker_config": {"min.insync.replicas": min(2, nodes)},
                       "topic": {"replication_factor": min(3, nodes)}},
            "producer": {"acks": "all"}, "consumer": {"instances": CONSUMERS},
            "load": {"users": PRODUCERS, "rate": pace.rate, "duration": pace.seconds}})
        run_id = f"as-{uuid.uuid4().hex[:8]}"
        run_dir = ctx.workdir / run_id
        run_dir.mkdir(parents=True)
        runtime = LocalRuntime(run_id)
        phases: dict[str, list[Phase]] = {path: [] for path in PATHS}
        assert isinstance(scenario.target, KafkaSpec)
        with KafkaCluster(scenario.target, runtime, run_dir, client_groups(CONSUMERS)) as cluster:
            create_reference_topic(cluster)
            paths: dict[str, ReferencePair | RecordedPath] = {
                "unrecorded": ReferencePair(cluster, scenario, runtime, run_dir),
                "recorded": RecordedPath(cluster, scenario, runtime, run_dir)}
            if warmup:
                ctx.log(f"warm-up (discarded): reference pair, {warmup:g} s")
                paths["unrecorded"].phase(Pace(pace.rate, warmup, 0.0))
            for n in range(rounds):
                for path in PATHS if n % 2 == 0 else PATHS[::-1]:
                    ctx.log(f"round {n + 1}/{rounds}, {path}: {pace.rate:g} msg/s for {pace.seconds:g} s")
                    phases[path].append(paths[path].phase(pace))
        return figures(phases, nodes, pace)


def figures(phases: dict[str, list[Phase]], nodes: int, pace: Pace) -> dict[str, Figure]:
    """Percentiles of each path's phases pooled, their ratio, and the lowest and highest ratio of one round."""
    out: dict[str, Figure] = {"nodes": nodes, "rate_per_s": pace.rate, "seconds_per_phase": pace.seconds,
                              "rounds": len(phases["recorded"])}
    pooled = {path: np.concatenate([phase.latencies_ns for phase in phases[path]]) for path in PATHS}
    for path in PATHS:
        p50, p99 = percentiles_ms(pooled[path])
        sent_per_s = sum(phase.sent for phase in phases[path]) / (len(phases[path]) * pace.seconds)
        out |= {f"{path}_p50_ms": round(p50, 3), f"{path}_p99_ms": round(p99, 3),
                f"{path}_samples": len(pooled[path]), f"{path}_sent_per_s": round(sent_per_s, 1)}
    ratio = np.array(percentiles_ms(pooled["recorded"])) / np.array(percentiles_ms(pooled["unrecorded"]))
    per_round = np.array([np.array(percentiles_ms(recorded.latencies_ns))
                          / np.array(percentiles_ms(unrecorded.latencies_ns))
                          for recorded, unrecorded in zip(phases["recorded"], phases["unrecorded"])])
    for i, q in enumerate(("p50", "p99")):
        out |= {f"{q}_ratio": round(float(ratio[i]), 3), f"{q}_ratio_round_min": round(float(per_round[:, i].min()), 3),
                f"{q}_ratio_round_max": round(float(per_round[:, i].max()), 3)}
    return out


def percentiles_ms(latencies_ns: np.ndarray) -> tuple[float, float]:
    """p50 and p99 in ms, interpolated as DuckDB's quantile_cont (the latency check's) does."""
    p50, p99 = np.percentile(latencies_ns, [50, 99])
    return float(p50) / 1e6, float(p99) / 1e6


def create_reference_topic(cluster: Any) -> None:
    """The reference pair's own topic, shaped as the run's: the sample consumers never see its messages."""
    from kafka import KafkaAdminClient
    from kafka.admin import NewTopic

    topic = cluster.spec.topic
    admin = KafkaAdminClient(bootstrap_servers=cluster.bootstrap, client_id="aftershock-bench-admin")
    try:
        admin.create_topics([NewTopic(REFERENCE_TOPIC, num_partitions=topic.partitions,
                                      replication_factor=topic.replication_factor)])
    finally:
        admin.close()
    wait_until(lambda: len(parts := cluster.partitions(REFERENCE_TOPIC)) == topic.partitions and all(
        p["leader"] >= 0 and len(p["isr"]) == topic.replication_factor for p in parts),
        what=f"topic {REFERENCE_TOPIC} to be fully replicated", timeout=READY_TIMEOUT, give_up_on=())


class ReferencePair:
    """Runs phases of the reference producers and consumers; each phase has its own producer numbers,
    so a message redelivered from an earlier phase is told apart and left out."""

    def __init__(self, cluster: Any, scenario: Any, runtime: LocalRuntime, run_dir: Path) -> None:
        self.bootstrap, self.partitions = cluster.bootstrap, cluster.spec.topic.partitions
        self.producer = json.dumps(scenario.producer.model_dump(mode="python"))
        self.message_size = scenario.producer.message_size
        self.runtime, self.run_dir = runtime, run_dir
        self.phases = 0

    def phase(self, pace: Pace) -> Phase:
        self.phases += 1
        phase_dir = self.run_dir / f"reference-{self.phases}"
        phase_dir.mkdir()
        first_producer = self.phases * 100
        outputs = [phase_dir / f"received-{i}.npy" for i in range(1, CONSUMERS + 1)]
        with contextlib.ExitStack() as stack:
            for i, out in enumerate(outputs, 1):
                stack.enter_context(self.runtime.process(ProcessSpec(
                    name=f"reference-consumer-{i}", log_path=phase_dir / f"consumer-{i}.log", argv=[
                        sys.executable, "-m", "harness.bench.kafka_reference", "consume", "--bootstrap", self.bootstrap,
                        "--topic", REFERENCE_TOPIC, "--group", REFERENCE_GROUP, "--instance", str(i),
                        "--out", str(out)])))
            wait_until(lambda: self._assigned(outputs), what="the reference consumers to own every partition",
                       timeout=READY_TIMEOUT, logs=[phase_dir / f"consumer-{i}.log" for i in range(1, CONSUMERS + 1)],
                       give_up_on=())
            done = subprocess.run(
                [sys.executable, "-m", "harness.bench.kafka_reference", "produce", "--bootstrap", self.bootstrap,
                 "--topic", REFERENCE_TOPIC, "--producer", self.producer, "--rate", str(pace.rate), "--seconds",
                 str(pace.seconds), "--producers", str(PRODUCERS), "--first-producer", str(first_producer),
                 "--size", str(self.message_size)], capture_output=True, text=True, timeout=pace.seconds + 120)
            (phase_dir / "producer.log").write_text(done.stdout + done.stderr)
            if done.returncode != 0:
                raise BenchmarkFailed(f"the reference producers failed (exit {done.returncode}):"
                                      f" see {phase_dir / 'producer.log'}")
            sent = json.loads(done.stdout.strip().splitlines()[-1])
            if sent["errors"] or sent["acked"] != sent["sent"]:
                raise BenchmarkFailed(f"reference producers: {sent['acked']} of {sent['sent']} acknowledged, "
                                      f"{sent['errors']} errors: the cluster was not healthy")
            wait_until(lambda: sum(_count(out) for out in outputs) >= sent["acked"],
                       what=f"the reference consumers to receive {sent['acked']} messages", timeout=DRAIN_TIMEOUT,
                       give_up_on=())
        # the ExitStack stopped the consumers (SIGTERM): each saved what it received
        ids, sent_ns, received_ns = np.concatenate([np.load(out) for out in outputs], axis=1)
        producer_numbers = ids >> SEQ_BITS
        ours = (producer_numbers >= first_producer) & (producer_numbers < first_producer + PRODUCERS)
        ids, sent_ns, received_ns = ids[ours], sent_ns[ours], received_ns[ours]
        if len(np.unique(ids)) != sent["acked"]:
            raise BenchmarkFailed(f"reference consumers received {len(np.unique(ids))} of {sent['acked']}"
                                  " acknowledged messages")
        return Phase(first_deliveries(ids, sent_ns, received_ns, pace.skip), sent["sent"])

    def _assigned(self, outputs: list[Path]) -> bool:
        markers = [out.with_suffix(".ready") for out in outputs]
        if not all(marker.exists() for marker in markers):
            return False
        owned = set().union(*(json.loads(marker.read_text() or "[]") for marker in markers))
        return owned >= set(range(self.partitions))


def _count(out: Path) -> int:
    try:
        return int(out.with_suffix(".count").read_text())
    except (OSError, ValueError):
        return 0


def first_deliveries(ids: np.ndarray, sent_ns: np.ndarray, received_ns: np.ndarray, skip: float) -> np.ndarray:
    """Latency of each id's first delivery, for ids sent `skip` seconds or more after the first send."""
    order = np.argsort(received_ns, kind="stable")
    _, first = np.unique(ids[order], return_index=True)
    sent, received = sent_ns[order][first], received_ns[order][first]
    keep = sent >= sent.min() + int(skip * 1e9)
    return received[keep] - sent[keep]


class RecordedPath:
    """Runs phases of the harness's own path as a run drives it: the sample consumer group, then the
    load process; e2e latency per message from the ledgers (attempt -> first delivery)."""

    def __init__(self, cluster: Any, scenario: Any, runtime: LocalRuntime, run_dir: Path) -> None:
        self.cluster, self.scenario, self.runtime, self.run_dir = cluster, scenario, runtime, run_dir
        self.phases = 0

    def phase(self, pace: Pace) -> Phase:
        from harness.check.history import History
        from harness.check.latency import latencies_ns
        from harness.services.consumers import ConsumerGroup
        from harness.services.load import LoadProcess

        self.phases += 1
        phase_dir = self.run_dir / f"recorded-{self.phases}"
        ledger_dir = phase_dir / "ledger"
        ledger_dir.mkdir(parents=True)

        def undelivered() -> int:
            with History(ledger_dir) as history:
                (count,) = history.sql(f"SELECT count(*) FROM ({latencies_ns(history)}) WHERE e2e_ns IS NULL")[0]
            return int(count)

        with ConsumerGroup(self.cluster, self.scenario.consumer, phase_dir, self.runtime.run_id, self.scenario.seed):
            with LoadProcess(self.scenario, self.cluster.load_config(), phase_dir, self.runtime) as load:
                wait_until(lambda: not load.running, what="the load process to finish", timeout=load.deadline,
                           interval=0.5, give_up_on=())
            wait_until(lambda: undelivered() == 0, what="the sample consumers to receive every message sent",
                       timeout=DRAIN_TIMEOUT, interval=0.5, give_up_on=())
        with History(ledger_dir) as history:
            (errors,) = history.sql("SELECT count(*) FROM sends WHERE event = 'E'")[0]
            (start, sent) = history.sql("SELECT min(ts_ns), count(*) FROM sends WHERE event = 'A'")[0]
            if errors or not sent:
                raise BenchmarkFailed(f"the harness's producers: {sent} sent, {errors} errors:"
                                      f" see {phase_dir / 'load.log'}")
            # Every phase's producers number their messages alike: a message of an earlier phase
            # delivered again (its commit failed) would pass for this phase's, early.
            (stale,) = history.sql("SELECT count(*) FROM deliveries WHERE ts_ns < ?", [start])[0]
            if stale:
                raise BenchmarkFailed(f"{stale} messages of an earlier phase were delivered again:"
                                      f" see {phase_dir / 'consumers'}")
            rows = history.sql(f"SELECT e2e_ns FROM ({latencies_ns(history)}) WHERE attempt_ns >= ?",
                               [start + int(pace.skip * 1e9)])
        return Phase(np.array([row[0] for row in rows], dtype=np.int64), int(sent))
