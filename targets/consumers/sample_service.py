"""What every sample consumer service shares: command-line basics, a stop flag, simulated work."""

from __future__ import annotations

import argparse
import json
import random
import signal
import time
from collections.abc import Callable
from pathlib import Path

import requests

from harness.ledger.writer import LedgerWriter
from harness.patterns.idempotency import MemoryStore, SqliteStore
from harness.patterns.pipeline import Pipeline
from harness.scenario.sections import ConsumerSpec


def base_parser(description: str | None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--instance", type=int, required=True)
    parser.add_argument("--ledger", type=Path, required=True)
    parser.add_argument("--patterns", type=Path, help="JSON: the scenario's consumer patterns, written by the harness")
    return parser


def kafka_parser(description: str | None) -> argparse.ArgumentParser:
    """What every Kafka sample service is told: where the cluster is, which topic, which group."""
    parser = base_parser(description)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--group", required=True)
    parser.add_argument("--commit", choices=("after-process", "before-process", "auto"), default="after-process",
                        help="when offsets are committed: after the batch is processed, before, or by the client")
    parser.add_argument("--auto-commit-interval", type=float, default=5.0, help="seconds, with --commit auto")
    parser.add_argument("--auto-offset-reset", choices=("earliest", "latest"), default="earliest")
    parser.add_argument("--session-timeout", type=float, default=10.0, help="seconds (classic protocol)")
    parser.add_argument("--heartbeat-interval", type=float, default=1.0, help="seconds (classic protocol)")
    parser.add_argument("--properties", type=json.loads, default={},
                        help="the scenario's consumer.properties (JSON), in the client's own names, over the app's")
    return parser


def mark_assignment(marker: Path, partitions: list[int]) -> None:
    """The member's partitions now, as the JSON list the harness waits for (assigned markers)."""
    print(f"assigned {partitions}", flush=True)
    staged = marker.with_suffix(".staged")
    staged.write_text(json.dumps(partitions))
    staged.replace(marker)  # never read half-written


class StopFlag:
    """Set by SIGTERM or Ctrl-C: the service finishes its batch, records it, and leaves cleanly."""

    def __init__(self) -> None:
        self.set = False
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)

    def _stop(self, *_: object) -> None:
        self.set = True

    def __bool__(self) -> bool:
        return self.set


def decode(value: bytes) -> tuple[int, bool]:
    """(message id, poison flag) of one of our messages; id -1 for anything else (counted as unexpected)."""
    try:
        body = json.loads(value)
        return int(body["id"]), bool(body.get("poison", False))
    except (ValueError, KeyError, TypeError):
        return -1, False


def build_pipeline(args: argparse.Namespace, stopping: StopFlag) -> tuple[Pipeline, dict, list[LedgerWriter]]:
    """The fault-tolerance patterns this instance runs, from the harness's --patterns file, with
    the ledgers of its retries and breaker transitions (flushed with the deliveries)."""
    settings = json.loads(args.patterns.read_text()) if args.patterns else {}
    spec = ConsumerSpec.model_validate(settings.get("consumer", {}))
    rng = random.Random(settings.get("seed", 0) * 1_000_003 + args.instance)
    store = None
    if spec.idempotency.store == "sqlite":
        store = SqliteStore(Path(settings["store_path"]))
    elif spec.idempotency.store == "memory":
        store = MemoryStore()
    url = settings.get("downstream_urls", {}).get(str(args.instance))  # each instance its own path (proxy)
    call = _downstream_caller(url, spec, args.instance, keyed=spec.idempotency.store != "none") if url else None
    # Only the ledgers of the patterns in use: a checker reports None for a pattern nobody ran.
    ledgers: list[LedgerWriter] = []

    def ledger(kind: str) -> LedgerWriter:
        ledgers.append(LedgerWriter(args.ledger.parent / f"{kind}-{args.instance}.csv"))
        return ledgers[-1]

    hooks = {}
    if spec.retry.max_attempts > 1:
        retries = ledger("retries")
        hooks["on_retry"] = lambda mid, attempt, delay, why: retries.write(
            mid, time.time_ns(), args.instance, attempt, round(delay * 1000, 3), why)
    if spec.circuit_breaker is not None:
        breaker, rejections = ledger("breaker"), ledger("rejections")
        hooks["on_transition"] = lambda old, new: breaker.write(0, time.time_ns(), args.instance, old, new)
        hooks["on_reject"] = lambda mid: rejections.write(mid, time.time_ns(), args.instance, spec.fallback)
    pipeline = Pipeline(spec, rng, call, store, stopping=lambda: bool(stopping), **hooks)
    return pipeline, settings, ledgers


def _downstream_caller(base_url: str, spec: ConsumerSpec, instance: int, keyed: bool) -> Callable[[int, str], None]:
    """POST one reservation; an idempotent consumer sends the message id as Idempotency-Key, so a
    call repeated after a crash (between the call and the store's commit) acts only once."""
    session = requests.Session()
    url, timeout = base_url + "/reserve", spec.downstream.timeout if spec.downstream else 0.5

    def call(message_id: int, mode: str) -> None:
        headers = {"Idempotency-Key": str(message_id)} if keyed else {}
        reply = session.post(url, json={"id": message_id, "consumer": instance, "mode": mode},
                             headers=headers, timeout=timeout)
        reply.raise_for_status()

    return call
