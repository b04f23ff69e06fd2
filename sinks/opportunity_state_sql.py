"""Repairing the opportunity state tables after a crash (the stage points of 0017_opportunity_state.sql,
the latest snapshots of 0018_opportunity_latest.sql).

Their materialized views insert after opportunity_snapshots has committed its part: a SIGKILL between
the two leaves snapshots stored (so a re-delivered chunk adds nothing) that the state tables never saw.
The writer runs these at start: each finds what is missing by comparing with opportunity_snapshots, and
re-inserting is harmless (the largest version wins; the stage points are deduplicated by their key)."""
from __future__ import annotations

# Snapshots whose stage point is missing.
REPAIR_STAGE_POINTS = """
INSERT INTO {db}.opportunity_stage_points
SELECT opportunity_id, occurred_at, toString(event_id), stage FROM {db}.opportunity_snapshots
WHERE event_id NOT IN (SELECT toUUID(tie) FROM {db}.opportunity_stage_points)
"""

# Opportunities whose kept row is not their latest snapshot (or that have none): that snapshot again.
# A missed snapshot that is not the latest changes no state, now or later.
REPAIR_LATEST = """
INSERT INTO {db}.opportunity_latest
SELECT * FROM
(
    SELECT opportunity_id,
           bitShiftLeft(toUInt256(toUnixTimestamp64Milli(occurred_at)), 128)
               + toUInt256(reinterpretAsUInt128(reverse(unhex(replaceAll(toString(event_id), '-', ''))))) AS version,
           event_id, account_id, occurred_at, stage, is_closed, is_won, amount, created_at, close_date, name, owner,
           source, type, program_id, probability
    FROM {db}.opportunity_snapshots
    ORDER BY opportunity_id, version DESC
    LIMIT 1 BY opportunity_id
)
WHERE (opportunity_id, version) NOT IN (SELECT opportunity_id, version FROM {db}.opportunity_latest FINAL)
"""
