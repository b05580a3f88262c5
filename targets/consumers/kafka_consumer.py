#!/usr/bin/env python3
"""Sample Kafka consumer service: at-least-once processing of the orders topic.

Stands for a user's service. Every delivery is written to this instance's ledger *before* the
offsets are committed, so a crash can cause redelivery (visible as a duplicate) but never a
silent gap. SIGTERM closes the consumer cleanly (leaves the group, commits what was ledgered). Transient client
errors (a broker restarting under it) are retried with backoff, the client rebuilt when they persist.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener
from kafka.errors import KafkaError

from harness.ledger.writer import LedgerWriter
from harness.patterns.supervisor import IdleWatch, Supervisor

from sample_service import StopFlag, build_pipeline, decode, kafka_parser, mark_assignment

# What a broker fault can make kafka-python raise out of poll() or commit(): connection refused by a
# restarting broker (KafkaConnectionError), timeouts, a coordinator moving. Anything else is a bug.
TRANSIENT = (KafkaError, OSError, TimeoutError)
# A member with no partition for this long, while there are enough for every instance, is wedged.
WEDGED_AFTER = 20.0


class Ready(ConsumerRebalanceListener):
    """Writes each assignment to a marker file (a JSON list of partitions), so the harness knows the
    group has formed and every partition has an owner: an instance that joined while its broker did
    not know the topic yet is assigned nothing until its metadata is refreshed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def on_partitions_revoked(self, revoked: object) -> None:
        pass

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        mark_assignment(self.marker, sorted(tp.partition for tp in assigned))


def main() -> int:
    parser = kafka_parser(__doc__)
    parser.add_argument("--dlq-reader", action="store_true",
                        help="read the dead-letter topic into a dlq ledger instead of processing")
    args = parser.parse_args()
    stopping = StopFlag()
    what = "dlq-reader" if args.dlq_reader else f"consumer-{args.instance}"
    supervisor: Supervisor[KafkaConsumer] = Supervisor(
        what, TRANSIENT, lambda: bool(stopping), random.Random(args.instance))
    with LedgerWriter(args.ledger, batch=256, interval=0.1) as ledger:
        if args.dlq_reader:
            step = read_dead_letters(ledger)
        else:
            step, finish = serve(ledger, stopping, args)
        supervisor.run(lambda: connect(args), step, lambda consumer: consumer.close(autocommit=args.commit == "auto"))
        if not args.dlq_reader:
            finish()
    print(f"{what}: stopped ({supervisor.total_failures} transient errors, {supervisor.rebuilds} client rebuilds)",
          flush=True)
    return 0


def connect(args: argparse.Namespace) -> KafkaConsumer:
    """A new consumer in the group; it resumes from the group's committed offsets. With --commit auto
    kafka-python commits inside poll(): the positions of what earlier polls returned."""
    consumer = KafkaConsumer(**dict(
        bootstrap_servers=args.bootstrap.split(","),
        group_id=args.group,
        client_id=f"{args.group}-{args.instance}",
        enable_auto_commit=args.commit == "auto",
        auto_commit_interval_ms=round(args.auto_commit_interval * 1000),
        auto_offset_reset=args.auto_offset_reset,
        session_timeout_ms=round(args.session_timeout * 1000),
        heartbeat_interval_ms=round(args.heartbeat_interval * 1000),
        max_poll_records=500,
        reconnect_backoff_max_ms=1000,   # the Java client's default; kafka-python's is 30 s
        # A consumer that joined while its broker did not know the topic yet (just created, or
        # created again on a compose cluster) is assigned nothing, and rebalances only when its
        # metadata is next refreshed: every 5 s here, not every 5 minutes.
        metadata_max_age_ms=5000,
    ) | args.properties)
    consumer.subscribe([args.topic], listener=Ready(args.ledger.with_suffix(".ready")))
    return consumer


def serve(ledger: LedgerWriter, stopping: StopFlag,
          args: argparse.Namespace) -> tuple[Callable[[KafkaConsumer], None], Callable[[], None]]:
    """One step: poll, ledger each delivery, run the pipeline, dead-letter what it gives up on, then
    commit (--commit after-process; before-process commits the batch first, auto leaves it to the
    client). Returns the step and what to do once the consumer is closed."""
    pipeline, settings, side_ledgers = build_pipeline(args, stopping)
    dlq_topic = settings.get("dlq")
    dlq = KafkaProducer(bootstrap_servers=args.bootstrap.split(","), acks="all",
                        reconnect_backoff_max_ms=1000) if dlq_topic else None

    instances = int(settings.get("consumer", {}).get("instances", 1))
    idle = IdleWatch(WEDGED_AFTER)

    def step(consumer: KafkaConsumer) -> None:
        assigned = bool(consumer.assignment())
        # The metadata cache only: KafkaConsumer.partitions_for_topic fetches an unknown topic's
        # metadata with no timeout, which would hang this loop behind a partitioned broker.
        partitions = (None if assigned else consumer._cluster.partitions_for_topic(args.topic)) or set()
        idle.observe(consumer, assigned, len(partitions) >= instances,
                     f"{args.topic} has {len(partitions)} partitions for {instances} instance(s), none assigned here")
        batches = consumer.poll(timeout_ms=200)
        if args.commit == "before-process" and batches:   # at-most-once: a crash from here on loses the rest
            commit(consumer, {tp: OffsetAndMetadata(records[-1].offset + 1, "", -1) for tp, records in batches.items()})
        offsets = {}
        for tp, records in batches.items():
            for record in records:
                message_id, poison = decode(record.value)
                ledger.write(message_id, tp.partition, record.offset, time.time_ns(), args.instance, 0)
                ledger.flush()  # on disk before any side effect: a crash must not hide a delivery
                outcome = pipeline.handle(message_id, poison)
                if outcome.kind == "parked":
                    break  # stopping while the breaker is open: leave it uncommitted, redelivered later
                if outcome.kind == "dead_letter" and dlq is not None:
                    dlq.send(dlq_topic, value=record.value, key=record.key, headers=[
                        ("reason", outcome.reason.encode()), ("attempts", str(outcome.attempts).encode())])
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        if not offsets:
            return
        ledger.flush()  # ledgered before committed: at-least-once
        for side in side_ledgers:
            side.flush()
        if dlq is not None:
            dlq.flush(timeout=30)  # dead letters stored before their offsets are committed
        if args.commit == "after-process":
            commit(consumer, offsets)

    def finish() -> None:
        if dlq is not None:
            dlq.close(timeout=10)
        for side in side_ledgers:
            side.close()

    return step, finish


def commit(consumer: KafkaConsumer, offsets: dict[TopicPartition, OffsetAndMetadata]) -> None:
    """Commit synchronously; a failed commit means redelivery (after-process) or, before processing,
    a batch processed anyway, as a service that cannot take back what it fetched would."""
    try:
        consumer.commit(offsets)
    except Exception as exc:  # noqa: BLE001 - a failed commit is measured, never fatal
        print(f"commit failed: {exc!r}", flush=True)


def read_dead_letters(ledger: LedgerWriter) -> Callable[[KafkaConsumer], None]:
    def step(consumer: KafkaConsumer) -> None:
        for _, records in consumer.poll(timeout_ms=200).items():
            for record in records:
                headers = {k: v.decode() for k, v in (record.headers or [])}
                message_id, _ = decode(record.value)
                ledger.write(message_id, time.time_ns(), headers.get("reason", ""), headers.get("attempts", 0))
        ledger.flush()
        try:
            consumer.commit()
        except Exception as exc:  # noqa: BLE001 - a failed commit means the dead letters are read again
            print(f"commit failed: {exc!r}", flush=True)

    return step


if __name__ == "__main__":
    sys.exit(main())
