"""Live counts from the ledgers while a run is under way, read incrementally (for progress only)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

_LINE_KINDS = {"deliveries-": "D", "effects-": "S", "dlq-": "L"}


class LedgerTail:
    """Counts rows appended since the last call: sends by event letter, deliveries in total."""

    def __init__(self, ledger_dir: Path) -> None:
        self.ledger_dir = ledger_dir
        self._offsets: dict[Path, int] = {}
        self.totals: Counter[str] = Counter()

    def poll(self) -> Counter[str]:
        """New rows since the previous poll: 'A', 'K', 'E', 'C' (sends by event), 'D' (deliveries),
        'S' (side effects), 'L' (dead letters read back)."""
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
                for event in (b"A", b"K", b"E", b"C"):
                    fresh[event.decode()] += chunk.count(b"\n" + event + b",", 0, end) + chunk.startswith(event + b",")
            elif path.name.startswith(tuple(_LINE_KINDS)):
                fresh[_LINE_KINDS[path.name.split("-", 1)[0] + "-"]] += chunk.count(b"\n", 0, end)
        self.totals.update(fresh)
        return fresh
