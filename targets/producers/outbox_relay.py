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
from kafka.errors import KafkaError

from harness.brokers.kafka.client_settings import producer_settings
from harness.ledger.schema import SendEvent
from harness.ledger.writer import LedgerWriter, clean_error
from harness.patterns.outbox import OutboxRow, OutboxStore, Relay
from harness.patterns.supervisor import Supervisor

ERROR_PAUSE = 0.5
# A send refused for want of metadata (KafkaTimeoutError) or a lost connection while a broker
# restarts: retried; the rows stay unsent in the outbox meanwhile, so nothing is lost.
TRANSIENT = (KafkaError, OSError, TimeoutError)


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
        published = 0

        def step(publisher: KafkaPublisher) -> None:
            nonlocal published
            read, sent = Relay(store, publisher, time.time_ns, batch=config["batch"]).step()
            published += sent
            if read == 0:
                time.sleep(config["poll"])
            elif sent < read:
                print(f"{read - sent} of {read} rows not acknowledged; retrying", flush=True)
                time.sleep(ERROR_PAUSE)

        supervisor: Supervisor[KafkaPublisher] = Supervisor("relay", TRANSIENT, lambda: stopping["set"])
        publisher = KafkaPublisher(config, ledger)   # a relay that cannot even start exits: the harness sees it
        Path(config["ready"]).touch()
        print(f"relaying {config['outbox']} to {config['topic']}", flush=True)
        supervisor.run(lambda: KafkaPublisher(config, ledger), step, KafkaPublisher.close, client=publisher)
        print(f"stopped after publishing {published} rows ({supervisor.total_failures} transient errors)",
              flush=True)
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
