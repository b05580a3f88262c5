"""Run by test_confluent_producer.py in its own process (Locust's gevent patching must stay out of
pytest's): a confluent-kafka user sends to an address where no broker listens, then finishes.

Usage: python confluent_probe.py LEDGER SENDS QUEUE_MESSAGES"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402 - after monkey.patch_all()
from pathlib import Path  # noqa: E402 - after monkey.patch_all()

from locust.env import Environment  # noqa: E402 - after monkey.patch_all()

from harness.brokers.kafka import confluent_user  # noqa: E402 - after monkey.patch_all()
from harness.ledger.writer import LedgerWriter  # noqa: E402 - after monkey.patch_all()
from harness.load.users import user_class  # noqa: E402 - after monkey.patch_all()
from harness.scenario.model import ProducerSpec  # noqa: E402 - after monkey.patch_all()

ledger_path, sends, queue_messages = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
settings = confluent_user.librdkafka_settings
confluent_user.librdkafka_settings = lambda config: settings(config) | {"queue.buffering.max.messages": queue_messages,
                                                                        "log_level": 0}
confluent_user.MAX_BLOCK_MS = 300
cls = user_class("confluent-kafka")
ledger = LedgerWriter(ledger_path)
cls.configure({"destination": "orders", "target": {"bootstrap": "127.0.0.1:1"}, "users": 1, "rate": 10,
               "message_size": 200, "producer": ProducerSpec(client="confluent-kafka", acks="all").model_dump()},
              ledger)
user = cls(Environment(user_classes=[cls]))
user.on_start()
for _ in range(sends):
    user.produce()
user.finish(timeout=0.5)
ledger.close()
