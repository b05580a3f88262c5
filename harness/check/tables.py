"""Tables several checkers share, built by a History once, on first use (History.table): grouping
10 M ledger rows by id or by log position is most of a check's cost."""

from __future__ import annotations

# One row per message id seen in the sends or the deliveries (delivery, latency, time series, lag).
# ts_ns is never NULL in the ledger tables (History skips such rows), so a NULL first-time below
# means "no such event". `one_partition` says when the first delivery stands for the first per
# (id, partition) exactly; the lag checker reads the raw rows of the few other ids. Every
# aggregate costs time on 10 M rows: rare facts (E events) are left to the checkers' own scans.
MESSAGES = """
    CREATE TABLE messages AS
    WITH sent AS (
        SELECT id,
               min(ts_ns) FILTER (WHERE event = 'A') AS attempt_ns,
               min(ts_ns) FILTER (WHERE event = 'K') AS ack_ns
        FROM sends GROUP BY id
    ), received AS (
        SELECT id, count(*) AS deliveries, min(ts_ns) AS delivered_ns,
               min("offset") IS NOT NULL AS logged,
               min(partition) AS delivered_partition,
               min(partition) IS NOT DISTINCT FROM max(partition)
                   AND count(partition) IN (0, count(*)) AS one_partition,
               one_partition AND min("offset") IS NOT DISTINCT FROM max("offset") AS one_position,
               -- Without offsets (RabbitMQ queues) each delivery the broker did not flag as redelivered
               -- is a stored copy: two such copies of one id are a publish duplicate.
               count(*) FILTER (WHERE "offset" IS NULL AND redelivered = 0) AS fresh_copies
        FROM deliveries GROUP BY id
    )
    SELECT id,
           attempt_ns IS NOT NULL AS attempted,
           ack_ns IS NOT NULL AS acked,
           coalesce(deliveries, 0) AS deliveries,
           -- distinct log positions plus stored copies; NULL (set below) where read at several positions
           CASE WHEN deliveries IS NULL THEN 0 WHEN one_position THEN logged::BIGINT + fresh_copies END AS positions,
           attempt_ns, ack_ns, delivered_ns, delivered_partition, one_partition
    FROM sent FULL OUTER JOIN received USING (id)
"""

# The few ids read from more than one log position, counted exactly (two-level grouping: much
# faster than count(DISTINCT (partition, "offset")) per id).
SCATTERED_POSITIONS = """
    UPDATE messages SET positions = counted.positions
    FROM (
        SELECT id, count("offset") + coalesce(sum(fresh) FILTER (WHERE "offset" IS NULL), 0) AS positions
        FROM (
            SELECT id, partition, "offset", count(*) FILTER (WHERE redelivered = 0) AS fresh
            FROM deliveries WHERE id IN (SELECT id FROM messages WHERE positions IS NULL)
            GROUP BY ALL
        ) GROUP BY id
    ) counted
    WHERE messages.id = counted.id
"""

# One row per log position read (delivery's redeliveries, order's log order): its first reader's id.
POSITIONS = """
    CREATE TABLE positions AS
    SELECT partition, "offset", arg_min(id, ts_ns) AS id, count(*) AS copies
    FROM deliveries WHERE "offset" IS NOT NULL GROUP BY partition, "offset"
"""

SHARED: dict[str, tuple[str, ...]] = {"messages": (MESSAGES, SCATTERED_POSITIONS), "positions": (POSITIONS,)}
"""Table name -> the statements that build it."""
