"""The broker's own count beside the harness's (Broker.recount; Kafka: every replica's final log),
taken once the nodes have stopped: the two answers go side by side in results, and a disagreement
makes the run an error that names the ids. Asked for by the spec (Kafka: replica_log_check)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.brokers import broker
from harness.check.history import History
from harness.scenario.model import Scenario

COMPARED = ("lost", "log_duplicates")


def second_opinion(scenario: Scenario, run_dir: Path, ledger_dir: Path, window: tuple[int, int] | None,
                   metrics: dict[str, Any], samples: dict[str, Any]) -> dict[str, Any] | None:
    """{"lost", "log_duplicates", "lost_ids", "ledgers", "agree", "disagreement"}; None when the
    broker has no count of its own or the spec does not ask for one. A count that cannot be taken
    is a disagreement too: the verdict was asked to stand on two legs."""
    recount = broker(scenario.target.kind).recount
    if recount is None:
        return None

    def acknowledged() -> set[int]:
        with History(ledger_dir, window) as history:
            return {int(row[0]) for row in history.sql("SELECT DISTINCT id FROM sends WHERE event = 'K'")}

    ours = {key: metrics.get(key) for key in COMPARED}
    try:
        theirs = recount(scenario.target, run_dir, acknowledged)
    except Exception as exc:  # noqa: BLE001 - the second opinion could not be had: the run cannot stand on it
        return {"ledgers": ours, "agree": False,
                "disagreement": f"the broker's own count could not be taken: {type(exc).__name__}: {exc}"}
    if theirs is None:
        return None
    disagreement = compare(theirs, ours, [row["id"] for row in samples.get("delivery.lost") or []])
    return {**theirs, "ledgers": ours, "agree": disagreement is None, "disagreement": disagreement}


def compare(theirs: dict[str, Any], ours: dict[str, Any], our_lost_ids: list[int]) -> str | None:
    """Why the broker's count and the ledgers' disagree, naming ids; None when they agree."""
    differ = [key for key in COMPARED if ours.get(key) != theirs[key]]
    if not differ:
        return None
    only_theirs = sorted(set(theirs["lost_ids"]) - set(our_lost_ids))[:20]
    only_ours = sorted(set(our_lost_ids) - set(theirs["lost_ids"]))[:20]
    return ("the broker's own logs disagree with the consumers' ledgers: "
            + ", ".join(f"{key} {theirs[key]} by the logs, {ours.get(key)} by the ledgers" for key in differ)
            + (f"; lost by the logs only: {only_theirs}" if only_theirs else "")
            + (f"; lost by the ledgers only: {only_ours}" if only_ours else ""))
