#!/usr/bin/env python3
"""Sample outbox relay (Kafka): publishes the producing service's unsent outbox rows and marks them sent.

Stands for the relay process of a service using the transactional outbox pattern. Each
acknowledgement is ledgered and flushed *before* its row is marked sent, so a relay killed at
any point republishes (a duplicate the checker counts) but never loses a committed row.
Each start ledgers into its own file: a killed incarnation's torn last line stays its own.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import signal
import sys
import time
from pathlib import Path

from kafka import KafkaProducer

from harness.ledger.schema import SendEvent
from harness.ledger.writer import LedgerWriter, clean_error
from harness.load.kafka_settings import producer_settings
from harness.patterns.outbox import OutboxRow, OutboxStore, Relay

ERROR_PAUSE = 0.5


class KafkaPublisher:
    """publish(rows) -> the rows Kafka acknowledged, each ledgered as K (or E) and flushed first."""

    def __init__(self, config: dict, ledger: LedgerWriter) -> None:
        self.topic = config["topic"]
        self.ledger = ledger
        self.producer = KafkaProducer(bootstrap_servers=config["bootstrap"].split(","),
                                      client_id=f"aftershock-relay-{os.getpid()}", **producer_settings(config))

    def __call__(self, rows: list[OutboxRow]) -> list[OutboxRow]:
        futures = [(row, self.producer.send(self.topic, value=row.payload, key=str(row.id).encode())) for row in rows]
        self.producer.flush()  # every future is answered within delivery.timeout.ms
        acked = []
        for row, future in futures:
            now = time.time_ns()
            if future.succeeded():
                metadata = future.value
                self.ledger.write(SendEvent.ACK.value, row.id, now, metadata.partition, metadata.offset, None)
                acked.append(row)
            else:
                error = future.exception
                self.ledger.write(SendEvent.ERROR.value, row.id, now, None, None,
                                  clean_error(f"{type(error).__name__}: {error}"))
        self.ledger.flush()  # on disk before the rows are marked sent
        return acked

    def close(self) -> None:
        self.producer.close(timeout=5)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("config", type=Path, help="JSON written by the harness: bootstrap, topic, producer, outbox")
    args = parser.parse_args()
    config = json.loads(args.config.read_text())
    faulthandler.register(signal.SIGUSR1)  # `kill -USR1 <pid>` prints where it is, into relay.log
    stopping = {"set": False}
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stopping.update(set=True))
    ledger_dir = Path(config["ledger_dir"])
    store = OutboxStore(Path(config["outbox"]))
    with LedgerWriter(ledger_dir / f"sends-relay-{os.getpid()}.csv") as ledger:
        publisher = KafkaPublisher(config, ledger)
        relay = Relay(store, publisher, time.time_ns, batch=config["batch"])
        Path(config["ready"]).touch()
        print(f"relaying {config['outbox']} to {config['topic']}", flush=True)
        published = 0
        while not stopping["set"]:
            read, sent = relay.step()
            published += sent
            if read == 0:
                time.sleep(config["poll"])
            elif sent < read:
                print(f"{read - sent} of {read} rows not acknowledged; retrying", flush=True)
                time.sleep(ERROR_PAUSE)
        publisher.close()
        print(f"stopped after publishing {published} rows", flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
