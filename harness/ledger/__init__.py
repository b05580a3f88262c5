"""Append-only ledgers written by producers, consumers and the orchestrator, read by the checkers."""

from harness.ledger.schema import DELIVERY_COLUMNS, SEND_COLUMNS, SendEvent, make_id, split_id, start_files
from harness.ledger.writer import LedgerWriter

__all__ = ["DELIVERY_COLUMNS", "SEND_COLUMNS", "SendEvent", "LedgerWriter", "make_id", "split_id", "start_files"]
