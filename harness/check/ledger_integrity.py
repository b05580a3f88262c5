"""Is the ledger whole? Torn last rows of killed writers and lines that do not parse, never read as rows."""

from __future__ import annotations

from harness.check.base import SAMPLE_LIMIT, Finding, register
from harness.check.history import History


@register
class LedgerIntegrity:
    """A torn row is the last line of a writer killed mid-write: its flush never returned, so the row is
    read as never written (a delivery not yet committed, so delivered again; a send answer lost, so the
    send is indeterminate). A rejected row is a complete line that does not parse, which no writer makes."""

    name = "ledger_integrity"
    metrics: tuple[str, ...] = ("ledger_torn_rows", "ledger_rejected_rows")

    def check(self, history: History) -> Finding:
        counts = dict(history.sql("SELECT kind, count(*) FROM ledger_defects GROUP BY kind"))
        samples = {kind: history.records(
            "SELECT ledger, file, line, text FROM ledger_defects WHERE kind = ? ORDER BY file, line LIMIT ?",
            [kind, SAMPLE_LIMIT]) for kind in ("torn", "rejected") if counts.get(kind)}
        return Finding(self.name, {"ledger_torn_rows": counts.get("torn", 0),
                                   "ledger_rejected_rows": counts.get("rejected", 0)}, samples)
