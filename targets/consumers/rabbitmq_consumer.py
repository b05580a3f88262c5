#!/usr/bin/env python3
"""Sample RabbitMQ consumer service (pika): at-least-once with manual acks, or auto-ack.

Stands for a user's service. With `--ack manual` every delivery is ledgered and flushed before
its side effect and before it is acknowledged, so a crash causes redelivery (flagged by the
broker) but never loss. With `--ack auto` the broker forgets a message as soon as it is sent: a
consumer that dies holding prefetched messages loses them, which is what the auto-ack scenario
demonstrates. Each delivery runs through the shared pipeline (retries, downstream call, circuit
breaker, idempotency); what it gives up on is rejected without requeue, so the queue's
dead-letter exchange (set by the harness's policy) moves it to the dead-letter queue; with
`--requeue` it is nacked back into the queue instead, and redelivered until the quorum queue's
delivery limit drops or dead-letters it. On a lost
connection it reconnects to the next node; a stream consumer resumes after its last offset.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

import pika
from pika.exceptions import AMQPError

from harness.ledger.writer import LedgerWriter
from harness.patterns.pipeline import Pipeline
from harness.patterns.supervisor import Supervisor

from sample_service import StopFlag, base_parser, build_pipeline, decode

ACK_BATCH_SECONDS = 0.1
# What a broker fault can raise: a lost or refused connection, a channel the broker closed. Anything
# else is a bug and ends the process, which the harness reports.
TRANSIENT = (AMQPError, OSError)


def main() -> int:
    parser = base_parser(__doc__)
    parser.add_argument("--brokers", required=True, help="host:port,host:port,...")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--queue-type", default="quorum")
    parser.add_argument("--ack", choices=("manual", "auto"), default="manual")
    parser.add_argument("--prefetch", type=int, default=50)
    parser.add_argument("--heartbeat", type=int, default=10,
                        help="seconds: the AMQP heartbeat timeout asked for (a hung consumer is closed after it)")
    parser.add_argument("--durable", choices=("true", "false"), default="true")
    parser.add_argument("--queue-arguments", type=json.loads, default=None,
                        help="the queue's declaration arguments, as JSON (the harness's own, x-queue-type included)")
    parser.add_argument("--requeue", action="store_true",
                        help="nack what the pipeline gives up on back into the queue, instead of rejecting it")
    parser.add_argument("--dlq-reader", action="store_true",
                        help="read the dead-letter queue into a dlq ledger instead of processing")
    args = parser.parse_args()
    brokers = args.brokers.split(",")
    stopping = StopFlag()
    ready = args.ledger.with_suffix(".ready")
    state: dict[str, Any] = {"next_offset": None,   # streams: where to resume after a reconnect
                             "attempt": max(args.instance - 1, 0)}
    seen: set[int] = set()  # the DLQ reader's ids, across reconnects
    pipeline, side_ledgers = None, []
    if not args.dlq_reader:
        pipeline, _, side_ledgers = build_pipeline(args, stopping)
    what = "dlq-reader" if args.dlq_reader else f"consumer-{args.instance}"
    # A lost connection is never worth retrying on the same client: rebuild after every failure,
    # on the next node.
    supervisor: Supervisor[pika.BlockingConnection] = Supervisor(
        what, TRANSIENT, lambda: bool(stopping), random.Random(args.instance), rebuild_after=1)

    def connect() -> pika.BlockingConnection:
        host, port = brokers[state["attempt"] % len(brokers)].rsplit(":", 1)
        state["attempt"] += 1
        print(f"{what}: connecting to {host}:{port}", flush=True)
        return _connect(host, int(port), args)

    with LedgerWriter(args.ledger, batch=256, interval=ACK_BATCH_SECONDS) as ledger:
        def step(connection: pika.BlockingConnection) -> None:
            if args.dlq_reader:
                read_dead_letters(connection, args, ledger, ready, stopping, seen)
            else:
                state["next_offset"] = consume(connection, args, ledger, pipeline, side_ledgers, ready, stopping,
                                               state["next_offset"])

        supervisor.run(connect, step, _close)
    for side in side_ledgers:
        side.close()
    print(f"{what}: stopped ({supervisor.total_failures} transient errors, {supervisor.rebuilds} reconnects)",
          flush=True)
    return 0


def _close(connection: pika.BlockingConnection) -> None:
    if connection.is_open:
        connection.close()


def _connect(host: str, port: int, args: argparse.Namespace) -> pika.BlockingConnection:
    name = "dlq-reader" if args.dlq_reader else f"consumer-{args.instance}"
    return pika.BlockingConnection(pika.ConnectionParameters(
        host=host, port=port, heartbeat=args.heartbeat, socket_timeout=5, client_properties={"connection_name": name}))


def consume(connection: pika.BlockingConnection, args: argparse.Namespace, ledger: LedgerWriter,
            pipeline: Pipeline, side_ledgers: list[LedgerWriter], ready: Path, stopping: StopFlag,
            next_offset: int | None) -> int | None:
    channel = connection.channel()
    channel.basic_qos(prefetch_count=args.prefetch)
    # Like most services, declare the queue we depend on (a transient queue may have vanished), with
    # the arguments it was declared with: others would be refused as inequivalent.
    declare_args = args.queue_arguments
    if declare_args is None:
        declare_args = {} if args.queue_type == "classic" else {"x-queue-type": args.queue_type}
    channel.queue_declare(args.queue, durable=args.durable == "true", arguments=declare_args)
    arguments: dict[str, Any] = {}
    if args.queue_type == "stream":
        arguments["x-stream-offset"] = next_offset if next_offset is not None else "first"
    auto_ack = args.ack == "auto"
    print(f"consuming {args.queue} (ack {args.ack})", flush=True)
    ready.touch()
    unacked_tag = None
    last_ack = time.monotonic()

    def settle() -> None:
        """Ledgers on disk, then acknowledge everything up to the last processed delivery."""
        nonlocal unacked_tag, last_ack
        ledger.flush()
        for side in side_ledgers:
            side.flush()
        if not auto_ack and unacked_tag is not None:
            channel.basic_ack(unacked_tag, multiple=True)
        unacked_tag, last_ack = None, time.monotonic()

    for method, props, body in channel.consume(args.queue, auto_ack=auto_ack, arguments=arguments,
                                               inactivity_timeout=ACK_BATCH_SECONDS):
        if method is not None:
            message_id, poison = decode(body)
            offset = (props.headers or {}).get("x-stream-offset")
            ledger.write(message_id, 0, offset, time.time_ns(), args.instance, int(method.redelivered))
            ledger.flush()  # on disk before any side effect: a crash must not hide a delivery
            if offset is not None:
                next_offset = offset + 1
            outcome = pipeline.handle(message_id, poison)
            if outcome.kind == "parked":
                break  # stopping while the breaker is open: left unacknowledged, redelivered later
            if outcome.kind in ("dead_letter", "dropped") and args.requeue and not auto_ack:
                settle()
                channel.basic_nack(method.delivery_tag, requeue=True)  # redelivered, up to the delivery limit
            elif outcome.kind == "dead_letter" and not auto_ack:
                settle()
                channel.basic_nack(method.delivery_tag, requeue=False)  # to the dead-letter exchange
                print(f"dead-lettered {message_id}: {outcome.reason} after {outcome.attempts} attempt(s)",
                      flush=True)
            else:
                unacked_tag = method.delivery_tag
        if unacked_tag is not None and (method is None or time.monotonic() - last_ack >= ACK_BATCH_SECONDS):
            settle()
        if stopping:
            break
    settle()
    channel.cancel()
    return next_offset


def read_dead_letters(connection: pika.BlockingConnection, args: argparse.Namespace, ledger: LedgerWriter,
                      ready: Path, stopping: StopFlag, seen: set[int]) -> None:
    """The harness's DLQ reader: one dlq row per dead letter, with the broker's x-death reason and count.

    A copy the broker redelivers to the reader itself (its connection dropped before the ack) and
    that it already ledgered is skipped: it is the reader's own redelivery, not a second dead letter,
    which arrives as a fresh message."""
    channel = connection.channel()
    channel.basic_qos(prefetch_count=200)
    channel.queue_declare(args.queue, durable=True, arguments={"x-queue-type": "quorum"})
    ready.touch()
    last = None
    for method, props, body in channel.consume(args.queue, inactivity_timeout=ACK_BATCH_SECONDS):
        if method is not None:
            message_id, _ = decode(body)
            if not (method.redelivered and message_id in seen):
                reason, count = _x_death((props.headers or {}).get("x-death"))
                ledger.write(message_id, time.time_ns(), reason, count)
                seen.add(message_id)
            last = method.delivery_tag
        if last is not None and method is None:
            ledger.flush()
            channel.basic_ack(last, multiple=True)
            last = None
        if stopping:
            break
    ledger.flush()
    if last is not None:
        channel.basic_ack(last, multiple=True)
    channel.cancel()


def _x_death(value: object) -> tuple[str, int]:
    """(reason, times) of the most recent death RabbitMQ recorded on a dead-lettered message."""
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        return "", 0
    reason = value[0].get("reason", b"")
    reason = reason.decode() if isinstance(reason, bytes) else str(reason)
    return reason, int(value[0].get("count", 0))


if __name__ == "__main__":
    sys.exit(main())
