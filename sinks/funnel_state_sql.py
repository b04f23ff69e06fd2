"""Repairing the kept funnel state (funnel_people of 0025_funnel_people.sql) after a crash.

funnel_people_mv inserts after lifecycle_changes has committed its part: a SIGKILL between the two leaves
changes stored (so a re-delivered chunk adds nothing) that the state never saw. Those are the killed
writer's last chunk, so at start the writer feeds its own changes of the last hour before its newest one
again (through funnel_people_feed, the pipe the state's view reads). Every column of the state is an idempotent aggregate (min, max, minMap, a set), so a change fed twice
changes nothing: the repair need not find exactly what was missed.

Call: client.command(REPAIR_FUNNEL_PEOPLE.format(db=database), parameters={"writer": writer_id})
"""
from __future__ import annotations

REPAIR_FUNNEL_PEOPLE = """
INSERT INTO {db}.funnel_people_feed
SELECT event_id, email, account_id, stage, occurred_at, owner, source FROM {db}.lifecycle_changes
WHERE writer = %(writer)s
  AND received_at >= (SELECT max(received_at) FROM {db}.lifecycle_changes WHERE writer = %(writer)s) - INTERVAL 1 HOUR
"""

# The kept copies of touch versions (0026 sales_touch_latest, 0027 page_view_latest) have the same gap: their
# views insert after touches has committed its part. The killed writer's last batches are its touches with a
# batch_seq (wall-clock microseconds) within the hour before its newest; a version re-written into a
# ReplacingMergeTree by version changes nothing, so the repair need not find exactly what was missed. One
# statement each: client.command(sql.format(db=database), parameters={"writer": writer_id}).
_WRITER_RECENT = ("writer = %(writer)s AND batch_seq >= (SELECT max(batch_seq) FROM {db}.touches "
                  "WHERE writer = %(writer)s) - 3600000000")
REPAIR_TOUCH_COPIES = (
    "INSERT INTO {db}.sales_touch_latest SELECT event_id, version, occurred_at, day, account_id, email, person, type, "
    "rep, outcome, direction FROM {db}.touches WHERE type IN ('call', 'meeting', 'sales_email') AND " + _WRITER_RECENT,
    "INSERT INTO {db}.page_view_latest SELECT event_id, version, occurred_at, day, person, traffic FROM {db}.touches "
    "WHERE type = 'page_view' AND " + _WRITER_RECENT,
)
