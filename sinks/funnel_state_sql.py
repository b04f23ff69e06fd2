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
