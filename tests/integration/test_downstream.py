"""The sample downstream service records every side effect, duplicates included, and stops cleanly."""

from __future__ import annotations

from pathlib import Path

import requests

from harness.check.history import History
from harness.check.side_effects import SideEffectChecker
from harness.runtimes.local import LocalRuntime
from harness.services.downstream import DownstreamService
from tests.integration.conftest import survivors


def test_inventory_ledgers_each_reservation_and_the_checker_sees_duplicates(tmp_path: Path) -> None:
    (tmp_path / "ledger").mkdir()
    with DownstreamService(LocalRuntime("as-test-inventory"), tmp_path) as inventory:
        for message_id, consumer in ((1, 1), (2, 1), (1, 2)):
            reply = requests.post(f"{inventory.url}/reserve", json={"id": message_id, "consumer": consumer}, timeout=5)
            assert reply.status_code == 200
        assert requests.post(f"{inventory.url}/reserve", json={"nope": 1}, timeout=5).status_code == 400
        for _ in range(2):  # an idempotency key acts once, then replays
            reply = requests.post(f"{inventory.url}/reserve", json={"id": 3, "consumer": 1},
                                  headers={"Idempotency-Key": "3"}, timeout=5)
            assert reply.status_code == 200
    assert survivors("as-test-inventory") == []
    with History(tmp_path / "ledger") as history:
        metrics = SideEffectChecker().check(history).metrics
    assert metrics == {"side_effects": 3, "side_effect_duplicates": 1, "degraded": 0, "side_effect_replays": 1}
