"""Repairing the opportunity state tables (0017_opportunity_state.sql) after a crash.

Their materialized views insert after opportunity_snapshots has committed its part: a SIGKILL between
the two leaves snapshots stored (so a re-delivered chunk adds nothing) that the state tables never saw.
The writer runs these at start: each finds what is missing by comparing with opportunity_snapshots, and
re-inserting is harmless (argMax is idempotent; the stage points are deduplicated by their key)."""
from __future__ import annotations

# The state an opportunity_state row keeps (as 0017_opportunity_state.sql's view inserts it).
_LATEST = """argMaxState((account_id, occurred_at, stage, is_closed, is_won, amount, created_at, close_date, name,
                    owner, toString(source), toString(type), program_id, probability, toString(event_id)),
                   (occurred_at, toString(event_id)))"""

# Snapshots whose stage point is missing.
REPAIR_STAGE_POINTS = """
INSERT INTO {db}.opportunity_stage_points
SELECT opportunity_id, occurred_at, toString(event_id), stage FROM {db}.opportunity_snapshots
WHERE event_id NOT IN (SELECT toUUID(tie) FROM {db}.opportunity_stage_points)
"""

# Opportunities whose kept state is not their latest snapshot (or that have none): their state again,
# from every snapshot. A missed snapshot that is not the latest changes no state, now or later.
REPAIR_STATE = f"""
INSERT INTO {{db}}.opportunity_state
SELECT opportunity_id, {_LATEST}
FROM {{db}}.opportunity_snapshots
WHERE opportunity_id IN (
    SELECT opportunity_id FROM
    (
        SELECT opportunity_id, argMax((occurred_at, toString(event_id)), (occurred_at, toString(event_id))) AS k
        FROM {{db}}.opportunity_snapshots GROUP BY opportunity_id
    )
    WHERE (opportunity_id, k.1, k.2) NOT IN
        (SELECT opportunity_id, s.2, s.15
         FROM (SELECT opportunity_id, argMaxMerge(latest) AS s FROM {{db}}.opportunity_state GROUP BY opportunity_id))
)
GROUP BY opportunity_id
"""
