"""The reference Kafka pair for the latency benchmark: producers and consumers with the same client
library (kafka-python), settings, pacing and loop as the harness's (Locust producer users, sample
consumer), but nothing recorded while messages flow: the send time rides in the payload and each
consumer keeps (id, sent, received) in memory, saved once it is told to stop.

Usage: python -m harness.bench.kafka_reference produce --bootstrap B --topic T --producer JSON
           --rate R --seconds S --producers N --first-producer P     (prints {"sent", "acked", "errors"})
       python -m harness.bench.kafka_reference consume --bootstrap B --topic T --group G --instance I --out F.npy
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
import time
from pathlib import Path

import numpy as np
from kafka import KafkaConsumer, KafkaProducer, OffsetAndMetadata, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from harness.brokers.kafka.client_settings import producer_settings
from harness.ledger.schema import make_id

PROGRESS_INTERVAL = 0.5   # seconds between a consumer's received-count updates (one tiny file, not per message)


class PacedProducer(threading.Thread):
    """One producer client sending at `rate` msg/s the way Locust's constant_throughput paces a user:
    after each send it waits what is left of 1/rate, never catching up on lost time."""

    def __init__(self, producer_no: int, args: argparse.Namespace, settings: dict[str, object]) -> None:
        super().__init__(name=f"reference-producer-{producer_no}")
        self.producer_no, self.args = producer_no, args
        self.client = KafkaProducer(bootstrap_servers=args.bootstrap.split(","),
                                    client_id=f"reference-producer-{producer_no}", **settings)
        self.padding = "x" * max(0, args.size - 60)   # the payload the harness's users send, same size
        self.sent = self.acked = self.errors = 0

    def run(self) -> None:
        interval = self.args.producers / self.args.rate
        until = time.monotonic() + self.args.seconds
        while (started := time.monotonic()) < until:
            message_id = make_id(self.producer_no, self.sent)
            sent_ns = time.time_ns()
            payload = json.dumps({"id": message_id, "ts": sent_ns, "pad": self.padding}).encode()
            future = self.client.send(self.args.topic, value=payload, key=str(message_id).encode())
            future.add_callback(self._acked)
            future.add_errback(self._failed)
            self.sent += 1
            time.sleep(max(0.0, interval - (time.monotonic() - started)))
        self.client.flush(timeout=30)
        self.client.close(timeout=5)

    def _acked(self, _: object) -> None:
        self.acked += 1   # callbacks run on this client's own I/O thread: no other writer

    def _failed(self, _: object) -> None:
        self.errors += 1


def produce(args: argparse.Namespace) -> None:
    settings = producer_settings({"producer": json.loads(args.producer)})
    producers = [PacedProducer(args.first_producer + n, args, settings) for n in range(args.producers)]
    for producer in producers:
        producer.start()
    for producer in producers:
        producer.join(timeout=args.seconds + 60)
    print(json.dumps({key: sum(getattr(p, key) for p in producers) for key in ("sent", "acked", "errors")}))


class AssignmentMarker(ConsumerRebalanceListener):
    """Writes each assignment (a JSON list of partitions) where the benchmark waits for it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def on_partitions_revoked(self, revoked: object) -> None:
        pass

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        staged = self.path.with_suffix(".staged")
        staged.write_text(json.dumps(sorted(tp.partition for tp in assigned)))
        staged.replace(self.path)


def consume(args: argparse.Namespace) -> None:
    """The sample consumer's client settings and loop (decode, timestamp, commit each poll's batch
    synchronously), minus the ledger and the pipeline."""
    stopping = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stopping.set())
    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap.split(","), group_id=args.group, client_id=f"{args.group}-{args.instance}",
        enable_auto_commit=False, auto_offset_reset="earliest", session_timeout_ms=10000, heartbeat_interval_ms=1000,
        max_poll_records=500, reconnect_backoff_max_ms=1000, metadata_max_age_ms=5000)
    consumer.subscribe([args.topic], listener=AssignmentMarker(args.out.with_suffix(".ready")))
    ids: list[int] = []
    sent: list[int] = []
    received: list[int] = []
    progress_at = time.monotonic()
    while not stopping.is_set():
        offsets = {}
        for tp, records in consumer.poll(timeout_ms=200).items():
            for record in records:
                body = json.loads(record.value)
                ids.append(int(body["id"]))
                sent.append(int(body["ts"]))
                received.append(time.time_ns())
                offsets[tp] = OffsetAndMetadata(record.offset + 1, "", -1)
        if offsets:
            try:
                consumer.commit(offsets)
            except Exception as exc:  # noqa: BLE001 - as the sample consumer: redelivery, filtered by the benchmark
                print(f"commit failed: {exc!r}", flush=True)
        if time.monotonic() - progress_at >= PROGRESS_INTERVAL:
            progress_at = time.monotonic()
            write_count(args.out.with_suffix(".count"), len(ids))
    consumer.close()
    np.save(args.out, np.array([ids, sent, received], dtype=np.int64))
    write_count(args.out.with_suffix(".count"), len(ids))


def write_count(path: Path, count: int) -> None:
    staged = path.with_suffix(".staged-count")
    staged.write_text(str(count))
    staged.replace(path)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    roles = parser.add_subparsers(dest="role", required=True)
    for role in ("produce", "consume"):
        sub = roles.add_parser(role)
        sub.add_argument("--bootstrap", required=True)
        sub.add_argument("--topic", required=True)
    producer = roles.choices["produce"]
    producer.add_argument("--producer", required=True, help="the scenario's producer section as JSON")
    producer.add_argument("--rate", type=float, required=True, help="msg/s over all producers")
    producer.add_argument("--seconds", type=float, required=True)
    producer.add_argument("--producers", type=int, default=4)
    producer.add_argument("--first-producer", type=int, default=1, help="producer number of the first client (ids)")
    producer.add_argument("--size", type=int, default=200)
    consumer = roles.choices["consume"]
    consumer.add_argument("--group", required=True)
    consumer.add_argument("--instance", type=int, required=True)
    consumer.add_argument("--out", type=Path, required=True, help=".npy file: rows id, sent ns, received ns")
    args = parser.parse_args()
    if args.role == "produce":
        produce(args)
    else:
        consume(args)


if __name__ == "__main__":
    main()
