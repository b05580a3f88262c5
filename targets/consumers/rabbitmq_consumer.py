#!/usr/bin/env python3
"""Sample RabbitMQ consumer service (pika): at-least-once with manual acks, or auto-ack.

Stands for a user's service. With `--ack manual` every delivery is ledgered and flushed before
it is acknowledged, so a crash causes redelivery (flagged by the broker) but never loss. With
`--ack auto` the broker forgets a message as soon as it is sent: a consumer that dies holding
prefetched messages loses them, which is what the auto-ack scenario demonstrates. On a lost
connection it reconnects to the next node; a stream consumer resumes after its last offset.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import pika
from pika.exceptions import AMQPError

from harness.ledger.writer import LedgerWriter
from sample_service import StopFlag, base_parser, process

ACK_BATCH_SECONDS = 0.1


def main() -> int:
    parser = base_parser(__doc__)
    parser.add_argument("--brokers", required=True, help="host:port,host:port,...")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--queue-type", default="quorum")
    parser.add_argument("--ack", choices=("manual", "auto"), default="manual")
    parser.add_argument("--prefetch", type=int, default=50)
    parser.add_argument("--durable", choices=("true", "false"), default="true")
    args = parser.parse_args()
    brokers = args.brokers.split(",")
    stopping = StopFlag()
    ready = args.ledger.with_suffix(".ready")
    next_offset: int | None = None  # streams: where to resume after a reconnect
    attempt = args.instance - 1
    with LedgerWriter(args.ledger, batch=256, interval=ACK_BATCH_SECONDS) as ledger:
        while not stopping:
            host, port = brokers[attempt % len(brokers)].rsplit(":", 1)
            attempt += 1
            try:
                next_offset = consume(host, int(port), args, ledger, ready, stopping, next_offset)
            except (AMQPError, OSError) as exc:
                print(f"connection to {host}:{port} lost: {exc!r}; trying the next node", flush=True)
                time.sleep(0.5)
    return 0


def consume(host: str, port: int, args: argparse.Namespace, ledger: LedgerWriter, ready: Path,
            stopping: StopFlag, next_offset: int | None) -> int | None:
    params = pika.ConnectionParameters(host=host, port=port, heartbeat=10, socket_timeout=5,
                                       client_properties={"connection_name": f"consumer-{args.instance}"})
    with pika.BlockingConnection(params) as connection:
        channel = connection.channel()
        channel.basic_qos(prefetch_count=args.prefetch)
        # Like most services, declare the queue we depend on (a transient queue may have vanished).
        declare_args = {} if args.queue_type == "classic" else {"x-queue-type": args.queue_type}
        channel.queue_declare(args.queue, durable=args.durable == "true", arguments=declare_args)
        arguments = {}
        if args.queue_type == "stream":
            arguments["x-stream-offset"] = next_offset if next_offset is not None else "first"
        auto_ack = args.ack == "auto"
        print(f"consuming {args.queue} on {host}:{port} (ack {args.ack})", flush=True)
        ready.touch()
        unacked_tag = None
        last_ack = time.monotonic()
        for method, props, body in channel.consume(args.queue, auto_ack=auto_ack, arguments=arguments,
                                                   inactivity_timeout=ACK_BATCH_SECONDS):
            if method is not None:
                try:
                    message_id = json.loads(body)["id"]
                except (ValueError, KeyError, TypeError):
                    message_id = -1  # not one of ours: counted as unexpected
                process(args)
                offset = (props.headers or {}).get("x-stream-offset")
                ledger.write(message_id, 0, offset, time.time_ns(), args.instance, int(method.redelivered))
                if offset is not None:
                    next_offset = offset + 1
                unacked_tag = method.delivery_tag
            now = time.monotonic()
            if unacked_tag is not None and (method is None or now - last_ack >= ACK_BATCH_SECONDS):
                ledger.flush()  # ledgered before acknowledged: at-least-once
                if not auto_ack:
                    channel.basic_ack(unacked_tag, multiple=True)
                unacked_tag, last_ack = None, now
            if stopping:
                break
        if unacked_tag is not None:
            ledger.flush()
            if not auto_ack:
                channel.basic_ack(unacked_tag, multiple=True)
        channel.cancel()
    return next_offset


if __name__ == "__main__":
    sys.exit(main())
