"""The reference RabbitMQ publisher: the same client library (pika) with the same settings as
Aftershock's producers (publisher confirms, persistent, mandatory), as many publishers, in a
tight loop with nothing else to do: no ledger, no Locust, no pacing. Its own process, printing
{"confirmed": n, "seconds": s} as JSON.

Usage: python -m harness.bench.rabbit_reference --brokers h:p,... --queue Q --seconds S --publishers N
"""

from __future__ import annotations

import argparse
import json
import threading
import time

import pika


def publish(host: str, port: int, queue: str, size: int, until: float, counts: list[int], slot: int) -> None:
    connection = pika.BlockingConnection(pika.ConnectionParameters(host=host, port=port, heartbeat=10))
    channel = connection.channel()
    channel.confirm_delivery()
    body = b"x" * size
    props = pika.BasicProperties(delivery_mode=2)
    while time.monotonic() < until:
        channel.basic_publish("", queue, body, props, mandatory=True)   # returns once confirmed
        counts[slot] += 1
    connection.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", required=True)
    parser.add_argument("--queue", required=True)
    parser.add_argument("--seconds", type=float, required=True)
    parser.add_argument("--publishers", type=int, default=4)
    parser.add_argument("--size", type=int, default=200)
    args = parser.parse_args()
    brokers = [b.rsplit(":", 1) for b in args.brokers.split(",")]
    counts = [0] * args.publishers
    start = time.monotonic()
    until = start + args.seconds
    threads = [threading.Thread(target=publish, args=(brokers[i % len(brokers)][0], int(brokers[i % len(brokers)][1]),
                                                      args.queue, args.size, until, counts, i))
               for i in range(args.publishers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=args.seconds + 60)
    print(json.dumps({"confirmed": sum(counts), "seconds": time.monotonic() - start}))


if __name__ == "__main__":
    main()
