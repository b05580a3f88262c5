"""Producer users of a service with a transactional outbox: they never talk to the broker.

Each message is committed with its business record in one SQLite transaction (ledgered as C);
the relay process publishes it and ledgers the broker's answer.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import ClassVar

from harness.ledger.schema import SendEvent
from harness.load.ledgered_user import LedgeredUser
from harness.patterns.outbox import OutboxStore


class OutboxUser(LedgeredUser):
    abstract = False
    store: ClassVar[OutboxStore | None] = None   # one connection for every user: they share a thread (gevent)

    def on_start(self) -> None:
        if OutboxUser.store is None:
            OutboxUser.store = OutboxStore(Path(self.config["outbox"]))

    def send(self, message_id: int, sent_ns: int, payload: bytes) -> None:
        assert self.store is not None
        self.store.commit(message_id, payload, sent_ns)
        now = time.time_ns()
        self.ledger.write(SendEvent.COMMITTED.value, message_id, now, None, None, None)
        self._report(sent_ns, now, None)

    def finish(self, timeout: float) -> None:
        """Commits are synchronous: nothing outstanding. The relay publishes the rest."""
