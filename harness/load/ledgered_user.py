"""The broker-agnostic part of a producer user: ids, ledger rows and Locust request events."""

from __future__ import annotations

import itertools
import json
import random
import time
from typing import Any, ClassVar

from locust import User, constant_throughput, task

from harness.ledger.schema import SendEvent, make_id
from harness.ledger.writer import LedgerWriter, clean_error

_producer_numbers = itertools.count(1)


class LedgeredUser(User):
    """Sends one tagged message per task at a constant rate; subclasses implement `send`.

    Each send is ledgered as an attempt before it leaves, then as ack or error when the broker
    answers, and reported to Locust's statistics like any request.
    """

    abstract = True
    config: ClassVar[dict[str, Any]] = {}
    ledger: ClassVar[LedgerWriter]
    all_users: ClassVar[list[LedgeredUser]] = []

    def __init__(self, environment: Any) -> None:
        super().__init__(environment)
        self.producer_no = self.config.get("producer_base", 0) + next(_producer_numbers)
        self.seq = itertools.count()
        self.padding = "x" * max(0, int(self.config["message_size"]) - 60)
        poison = (self.config.get("producer") or {}).get("poison")
        self.poison_rate = poison["rate"] if poison else 0.0
        self.rng = random.Random(self.config.get("seed", 0) * 1_000_003 + self.producer_no)
        LedgeredUser.all_users.append(self)

    @classmethod
    def configure(cls, config: dict[str, Any], ledger: LedgerWriter) -> None:
        cls.config = config
        LedgeredUser.ledger = ledger
        cls.wait_time = constant_throughput(config["rate"] / config["users"])

    def payload(self, message_id: int, sent_ns: int, poison: bool) -> bytes:
        body = {"id": message_id, "ts": sent_ns, "pad": self.padding}
        if poison:
            body["poison"] = True
        return json.dumps(body).encode()

    @task
    def produce(self) -> None:
        message_id = make_id(self.producer_no, next(self.seq))
        sent_ns = time.time_ns()
        poison = self.poison_rate > 0 and self.rng.random() < self.poison_rate
        self.ledger.write(SendEvent.ATTEMPT.value, message_id, sent_ns, None, None, None)
        if poison:
            self.ledger.write(SendEvent.POISON.value, message_id, sent_ns, None, None, None)
        try:
            self.send(message_id, sent_ns, self.payload(message_id, sent_ns, poison))
        except Exception as exc:  # noqa: BLE001 - a refused send is a result, not a crash
            self.failed(message_id, sent_ns, exc)

    def acked(self, message_id: int, sent_ns: int, partition: int | None, offset: int | None) -> None:
        now = time.time_ns()
        self.ledger.write(SendEvent.ACK.value, message_id, now, partition, offset, None)
        self._report(sent_ns, now, None)

    def failed(self, message_id: int, sent_ns: int, exc: BaseException) -> None:
        now = time.time_ns()
        self.ledger.write(SendEvent.ERROR.value, message_id, now, None, None,
                          clean_error(f"{type(exc).__name__}: {exc}"))
        self._report(sent_ns, now, exc)

    def _report(self, sent_ns: int, now: int, exc: BaseException | None) -> None:
        self.environment.events.request.fire(
            request_type="produce", name=self.config["destination"], response_time=(now - sent_ns) / 1e6,
            response_length=int(self.config["message_size"]), exception=exc, context={},
        )

    # -- for subclasses ---------------------------------------------------------------
    @classmethod
    def client_versions(cls) -> dict[str, str]:
        """The producer client that ran and its libraries' versions, for the run's results."""
        return {}

    def send(self, message_id: int, sent_ns: int, payload: bytes) -> None:
        raise NotImplementedError

    def finish(self, timeout: float) -> None:
        """Wait for outstanding sends to be answered, then close the client."""
