#!/usr/bin/env python3
"""Sample Kafka consumer service: at-least-once processing of the orders topic.

Stands for a user's service. Every delivery is written to this instance's ledger *before* the
offsets are committed, so a crash can cause redelivery (visible as a duplicate) but never a
silent gap. SIGTERM closes the consumer cleanly (leaves the group, commits what was ledgered).
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from kafka import KafkaConsumer, OffsetAndMetadata, TopicPartition
from kafka.consumer.subscription_state import ConsumerRebalanceListener

from harness.ledger.writer import LedgerWriter
from sample_service import StopFlag, base_parser, process


class Ready(ConsumerRebalanceListener):
    """Touches a marker file on the first assignment, so the harness knows the group has formed."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def on_partitions_revoked(self, revoked: object) -> None:
        pass

    def on_partitions_assigned(self, assigned: list[TopicPartition]) -> None:
        print(f"assigned {sorted(tp.partition for tp in assigned)}", flush=True)
        self.marker.touch()


def main() -> int:
    parser = base_parser(__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    args = parser.parse_args()
    stopping = StopFlag()

    consumer = KafkaConsumer(
        bootstrap_servers=args.bootstrap.split(","),
        group_id=args.group,
        client_id=f"{args.group}-{args.instance}",
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        session_timeout_ms=10000,
        heartbeat_interval_ms=1000,
        max_poll_records=500,
    )
    consumer.subscribe([args.topic], listener=Ready(args.ledger.with_suffix(".ready")))
    with LedgerWriter(args.ledger, batch=256, interval=0.1) as ledger:
        while not stopping:
            batches = consumer.poll(timeout_ms=200)
            if not batches:
                continue
            offsets = {}
            for tp, records in batches.items():
                for record in records:
                    process(args)
                    now = time.time_ns()
                    try:
                        message_id = json.loads(record.value)["id"]
                    except (ValueError, KeyError, TypeError):
                        message_id = None  # not one of ours: ledgered with no id, counted as unexpected
                    ledger.write(message_id if message_id is not None else -1, tp.partition, record.offset,
                                 now, args.instance, 0)
                offsets[tp] = OffsetAndMetadata(records[-1].offset + 1, "", -1)
            ledger.flush()  # ledgered before committed: at-least-once
            try:
                consumer.commit(offsets)
            except Exception as exc:  # noqa: BLE001 - a failed commit means redelivery, which we measure
                print(f"commit failed: {exc!r}", flush=True)
    consumer.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
