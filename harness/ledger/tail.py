"""Live counts from the ledgers while a run is under way, read incrementally (for progress only)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path


class LedgerTail:
    """Counts rows appended since the last call: sends by event letter, deliveries in total."""

    def __init__(self, ledger_dir: Path) -> None:
        self.ledger_dir = ledger_dir
        self._offsets: dict[Path, int] = {}
        self.totals: Counter[str] = Counter()

    def poll(self) -> Counter[str]:
        """New rows since the previous poll, keyed 'A', 'K', 'E' (sends) and 'D' (deliveries)."""
        fresh: Counter[str] = Counter()
        for path in sorted(self.ledger_dir.glob("*.csv")):
            start = self._offsets.get(path, 0)
            with open(path, "rb") as handle:
                handle.seek(start)
                chunk = handle.read()
            end = chunk.rfind(b"\n") + 1  # count whole lines only
            self._offsets[path] = start + end
            if not end:
                continue
            if path.name.startswith("sends-"):
                for event in (b"A", b"K", b"E"):
                    fresh[event.decode()] += chunk.count(b"\n" + event + b",", 0, end) + chunk.startswith(event + b",")
            else:
                fresh["D"] += chunk.count(b"\n", 0, end)
        self.totals.update(fresh)
        return fresh
