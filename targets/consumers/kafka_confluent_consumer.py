#!/usr/bin/env python3
"""Sample Kafka consumer service on confluent-kafka (librdkafka): the same at-least-once service as
kafka_consumer.py (each delivery ledgered before its offset is committed, commits after processing,
SIGTERM leaves the group cleanly), in either group protocol: classic, or KIP-848's consumer
protocol, where the broker assigns partitions incrementally and a member heartbeats to it.
"""

from __future__ import annotations

import argparse
import random
import sys
import time
from collections.abc import Callable
from pathlib import Path

from confluent_kafka import Consumer, KafkaException, Producer, TopicPartition

from harness.ledger.writer import LedgerWriter
from harness.patterns.supervisor import IdleWatch, StallWatch, Supervisor

from sample_service import StopFlag, build_pipeline, decode, kafka_parser, mark_assignment

# What a broker fault can make the client raise out of consume() or commit(); librdkafka retries
# most transport errors itself and reports them through error_cb.
TRANSIENT = (KafkaException, OSError, TimeoutError)
WEDGED_AFTER = 20.0   # as kafka_consumer.py: no partition for this long, though there are enough


class Assignment:
    """This member's partitions, kept from the assign and revoke callbacks (under KIP-848 they name
    only what was added or taken away) and written to the marker file the harness waits for."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker
        self.partitions: set[int] = set()

    def assigned(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.partitions |= {tp.partition for tp in partitions}
        self._write()

    def revoked(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self.partitions -= {tp.partition for tp in partitions}
        self._write()

    def _write(self) -> None:
        mark_assignment(self.marker, sorted(self.partitions))


def main() -> int:
    parser = kafka_parser(__doc__)
    parser.add_argument("--group-protocol", choices=("classic", "consumer"), default="classic")
    args = parser.parse_args()
    stopping = StopFlag()
    what = f"consumer-{args.instance}"
    supervisor: Supervisor[Consumer] = Supervisor(what, TRANSIENT, lambda: bool(stopping), random.Random(args.instance))
    with LedgerWriter(args.ledger, batch=256, interval=0.1) as ledger:
        step, finish = serve(ledger, stopping, args)
        supervisor.run(lambda: connect(args), step, lambda consumer: consumer.close())
        finish()
    print(f"{what}: stopped ({supervisor.total_failures} transient errors, {supervisor.rebuilds} client rebuilds)",
          flush=True)
    return 0


def connect(args: argparse.Namespace) -> Consumer:
    """A new member of the group; it resumes from the group's committed offsets. Under KIP-848 the
    session and heartbeat timeouts are the broker's (group.consumer.*), not the member's."""
    config = {
        "bootstrap.servers": args.bootstrap,
        "group.id": args.group,
        "client.id": f"{args.group}-{args.instance}",
        # --commit auto: librdkafka stores each message's offset as consume() hands it over and commits
        # the stored offsets from its own thread, processed or not
        "enable.auto.commit": args.commit == "auto",
        "auto.commit.interval.ms": round(args.auto_commit_interval * 1000),
        "auto.offset.reset": args.auto_offset_reset,
        "group.protocol": args.group_protocol,
        "reconnect.backoff.max.ms": 1000,
        "topic.metadata.refresh.interval.ms": 5000,
        "error_cb": lambda error: print(f"client error: {error}", flush=True),
    }
    if args.group_protocol == "classic":
        config.update({"session.timeout.ms": round(args.session_timeout * 1000),
                       "heartbeat.interval.ms": round(args.heartbeat_interval * 1000)})
    consumer = Consumer({**config, **args.properties})
    assignment = Assignment(args.ledger.with_suffix(".ready"))
    consumer.subscribe([args.topic], on_assign=assignment.assigned, on_revoke=assignment.revoked,
                       on_lost=assignment.revoked)
    return consumer


def serve(ledger: LedgerWriter, stopping: StopFlag,
          args: argparse.Namespace) -> tuple[Callable[[Consumer], None], Callable[[], None]]:
    """One step: consume a batch, ledger each delivery, run the pipeline, dead-letter what it gives
    up on, then commit synchronously (--commit after-process; before-process commits the batch first,
    auto leaves it to the client). Returns the step and what to do once the consumer is closed."""
    pipeline, settings, side_ledgers = build_pipeline(args, stopping)
    dlq_topic = settings.get("dlq")
    dlq = Producer({"bootstrap.servers": args.bootstrap, "acks": "all"}) if dlq_topic else None
    instances = int(settings.get("consumer", {}).get("instances", 1))
    idle = IdleWatch(WEDGED_AFTER)
    stall = StallWatch(WEDGED_AFTER)

    def step(consumer: Consumer) -> None:
        owned = {tp.partition for tp in consumer.assignment()}
        assigned = bool(owned)
        partitions = 0
        if not assigned:
            topic = consumer.list_topics(args.topic, timeout=1.0).topics.get(args.topic)
            partitions = len(topic.partitions) if topic is not None and topic.error is None else 0
        idle.observe(consumer, assigned, partitions >= instances,
                     f"{args.topic} has {partitions} partitions for {instances} instance(s), none assigned here")
        offsets: dict[int, int] = {}
        records = consumer.consume(num_messages=500, timeout=0.2)
        stall.observe(consumer, owned, {record.partition() for record in records if record.error() is None},
                      lambda silent: behind(consumer, args.topic, silent))
        if args.commit == "before-process":   # at-most-once: a crash from here on loses the rest of the batch
            fetched = {record.partition(): record.offset() + 1 for record in records if record.error() is None}
            if fetched:
                commit(consumer, args.topic, fetched)
        for record in records:
            if record.error() is not None:
                print(f"consume error: {record.error()}", flush=True)
                continue
            message_id, poison = decode(record.value())
            ledger.write(message_id, record.partition(), record.offset(), time.time_ns(), args.instance, 0)
            ledger.flush()  # on disk before any side effect: a crash must not hide a delivery
            outcome = pipeline.handle(message_id, poison)
            if outcome.kind == "parked":
                break  # stopping while the breaker is open: leave it uncommitted, redelivered later
            if outcome.kind == "dead_letter" and dlq is not None:
                dlq.produce(dlq_topic, value=record.value(), key=record.key(), headers=[
                    ("reason", outcome.reason.encode()), ("attempts", str(outcome.attempts).encode())])
            offsets[record.partition()] = record.offset() + 1
        if not offsets:
            return
        ledger.flush()  # ledgered before committed: at-least-once
        for side in side_ledgers:
            side.flush()
        if dlq is not None and dlq.flush(30) > 0:
            print("dead letters not stored within 30 s: their offsets stay uncommitted", flush=True)
            return
        if args.commit == "after-process":
            commit(consumer, args.topic, offsets)

    def finish() -> None:
        if dlq is not None:
            dlq.flush(10)
        for side in side_ledgers:
            side.close()

    return step, finish


def behind(consumer: Consumer, topic: str, partitions: set[int]) -> set[int] | None:
    """Which of `partitions` the broker holds more of than this client read: the high watermark past
    the client's position (or, where it consumed nothing yet, the group's committed offset, or the
    log start). None when the broker cannot be asked now (a leader down): no judgement then."""
    stuck = set()
    try:
        for partition in partitions:
            tp = TopicPartition(topic, partition)
            low, high = consumer.get_watermark_offsets(tp, timeout=2.0, cached=False)
            position = consumer.position([tp])[0].offset
            if position < 0:
                position = consumer.committed([tp], timeout=2.0)[0].offset
            if high > (position if position >= 0 else low):
                stuck.add(partition)
    except KafkaException:
        return None
    return stuck


def commit(consumer: Consumer, topic: str, offsets: dict[int, int]) -> None:
    """Commit synchronously; a failed commit means redelivery (after-process) or, before processing,
    a batch processed anyway, as a service that cannot take back what it fetched would."""
    try:
        consumer.commit(offsets=[TopicPartition(topic, p, o) for p, o in offsets.items()], asynchronous=False)
    except KafkaException as exc:  # a failed commit is measured, never fatal
        print(f"commit failed: {exc!r}", flush=True)


if __name__ == "__main__":
    sys.exit(main())
