"""Anomalies explained from the cluster's own record (harness.observer, `observations`): a lost
message's acknowledgement told by the leader and epoch that gave it, and the leadership change
that undid it, e.g. "acknowledged by kafka-2 at offset 812 in epoch 3 at +9.1s; kafka-3 became
leader in epoch 4 at +21.0s with log end 790: 22 acknowledged records of orders/0 beyond it were
truncated"; a duplicated one by the leadership changes (a retried write stored twice) or the
group changes (a delivery handed to a new member) between its send and its last delivery.
Without a record (RabbitMQ, or no observer) the rows stay as they are.
"""

from __future__ import annotations

from typing import Any

from harness.check.effects import leader_at
from harness.check.history import History
from harness.observer import UNKNOWN


def partition_subjects(history: History) -> dict[int, str]:
    """partition number -> the observer's subject for it in the topic the load writes: of the topics
    recorded, the one with the most partitions (ties: the one whose log grew most)."""
    rows = history.sql("""
        SELECT subject, max(TRY_CAST(value AS BIGINT)) FROM observations
        WHERE subject LIKE 'partition:%' AND attribute = 'end' GROUP BY subject""")
    topics: dict[str, dict[int, tuple[str, int]]] = {}
    for subject, end in rows:
        topic, _, number = subject.removeprefix("partition:").rpartition("/")
        if number.isdigit():
            topics.setdefault(topic, {})[int(number)] = (subject, int(end or 0))
    if not topics:
        return {}
    chosen = max(topics.values(), key=lambda parts: (len(parts), sum(end for _, end in parts.values())))
    return {number: subject for number, (subject, _) in chosen.items()}


def explain_lost(history: History, rows: list[dict[str, Any]], start_ns: int) -> None:
    """Adds `explained` to each lost row whose partition the record covers."""
    subjects = partition_subjects(history)
    if not subjects or not rows:
        return
    wanted = sorted({subjects[r["partition"]] for r in rows if r.get("partition") in subjects})
    record: dict[tuple[str, str], list[tuple[int, str]]] = {}
    for subject, attribute, ts_ns, value in history.sql(
            "SELECT subject, attribute, ts_ns, value FROM observations WHERE subject IN (SELECT unnest(?))"
            " AND attribute IN ('leader', 'epoch', 'end') ORDER BY ts_ns", [wanted]):
        record.setdefault((subject, attribute), []).append((int(ts_ns), value or ""))
    truncated: dict[tuple[int, int, int], int] = {}
    for row in rows:
        partition, acked, offset = row.get("partition"), row.get("acked_ns"), row.get("offset")
        subject = subjects.get(partition) if isinstance(partition, int) else None
        if subject is None or acked is None or offset is None:
            continue
        leaders, epochs = record.get((subject, "leader"), []), record.get((subject, "epoch"), [])
        ends = [(ts, v) for ts, v in record.get((subject, "end"), []) if v not in (UNKNOWN, "-")]
        leader, epoch = leader_at(leaders, acked), leader_at(epochs, acked)
        if leader is None:
            continue
        told = f"acknowledged by {leader} at offset {offset} in epoch {epoch} at +{(acked - start_ns) / 1e9:.1f}s"
        change = next(((ts, value) for ts, value in leaders if ts > acked and value != leader), None)
        if change is None:
            row["explained"] = f"{told}; leadership of {subject.removeprefix('partition:')} never moved after it"
            continue
        ts, new = change
        end = next((int(v) for t, v in ends if t >= ts), None)
        moved = (f"{new} became leader in epoch {leader_at(epochs, ts)} at +{(ts - start_ns) / 1e9:.1f}s"
                 + (f" with log end {end}" if end is not None else ""))
        if end is not None and offset >= end:
            key = (int(row["partition"]), end, ts)
            if key not in truncated:
                truncated[key] = int(history.sql(
                    "SELECT count(*) FROM sends WHERE event = 'K' AND partition = ? AND \"offset\" >= ? AND ts_ns < ?",
                    [key[0], end, ts])[0][0])
            moved += (f": {truncated[key]} acknowledged records of {subject.removeprefix('partition:')} beyond it"
                      " were truncated")
        row["explained"] = f"{told}; {moved}"


def explain_duplicated(history: History, rows: list[dict[str, Any]], start_ns: int) -> None:
    """Adds `explained` to each duplicated row: what changed in the cluster between its send and its
    last delivery (a partition's leader for a record stored twice, its group's members for one
    delivered twice from one offset)."""
    subjects = partition_subjects(history)
    if not subjects or not rows:
        return
    changes: dict[str, list[tuple[int, str]]] = {}
    for subject, ts_ns, value in history.sql(
            "SELECT subject, ts_ns, value FROM observations WHERE (attribute = 'leader' AND subject LIKE 'partition:%')"
            " OR (attribute = 'members' AND subject LIKE 'group:%') ORDER BY ts_ns"):
        if value != UNKNOWN:
            changes.setdefault(subject, []).append((int(ts_ns), value or ""))

    def moves(subject: str, since: int, until: int) -> list[str]:
        timeline = changes.get(subject, [])
        seen = [(ts, v) for ts, v in timeline if since < ts <= until and v != leader_at(timeline, ts - 1)]
        return [f"{v} at +{(ts - start_ns) / 1e9:.1f}s" for ts, v in seen]

    for row in rows:
        since, until = row.get("sent_ns"), row.get("last_delivered_ns")
        if since is None or until is None:
            continue
        told = []
        for partition in row.get("partitions") or []:
            subject = subjects.get(partition)
            if subject is not None:
                led = moves(subject, since, until)
                if led and (row.get("positions") or 0) > 1:
                    told.append(f"{subject.removeprefix('partition:')} led by {', then '.join(led)}")
        if (row.get("positions") or 0) <= 1:
            for subject in sorted(s for s in changes if s.startswith("group:")):
                if moves(subject, since, until):
                    told.append(f"group {subject.removeprefix('group:')} changed members"
                                f" {len(moves(subject, since, until))} time(s) between its send and last delivery")
        row["explained"] = "; ".join(told) if told else "no leadership or group change recorded between its send" \
                                                        " and its last delivery"
