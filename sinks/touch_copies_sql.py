"""Repairing the kept copies of touch versions (0020 program_successes, 0026 sales_touch_latest,
0057 page_view_latest) and of their ids (0052 touch_ids) after a crash.

Their materialized views insert after `touches` has committed its part: a SIGKILL between the two leaves
touches stored (so a re-delivered chunk adds nothing) that the copies never saw. Those are the killed
writer's last batches: its touches with a batch_seq (wall-clock microseconds) within the hour before its
newest. A version written again into a ReplacingMergeTree by version changes nothing, so the repair need
not find exactly what was missed. Each statement repeats the SELECT of the view it stands in for.

Call each: client.command(sql.format(db=database), parameters={"writer": writer_id, "since": batch_seq}),
`since` an hour of batch_seq before the writer's newest (Store.repair_touch_copies).
"""
from __future__ import annotations

_WRITER_RECENT = "writer = %(writer)s AND batch_seq >= %(since)s"
REPAIR_TOUCH_COPIES = (
    # an id missing there would let a replay of its (late) event in twice: the writer's check reads it
    "INSERT INTO {db}.touch_ids SELECT event_id, occurred_at FROM {db}.touches WHERE " + _WRITER_RECENT,
    "INSERT INTO {db}.sales_touch_latest SELECT event_id, version, occurred_at, day, account_id, email, person, type, "
    "rep, outcome, direction FROM {db}.touches WHERE type IN ('call', 'meeting', 'sales_email') AND " + _WRITER_RECENT,
    # the two views of 0057: each version's row under its person, and the tombstone under the person it left
    "INSERT INTO {db}.page_view_latest SELECT person, event_id, version, 0, occurred_at, day, traffic "
    "FROM {db}.touches WHERE type = 'page_view' AND person != '' AND " + _WRITER_RECENT,
    "INSERT INTO {db}.page_view_latest SELECT prev_person, event_id, version, 1, occurred_at, day, traffic "
    "FROM {db}.touches WHERE type = 'page_view' AND retracts = 1 AND prev_person != person AND prev_person != '' AND "
    + _WRITER_RECENT,
    # the two views of 0020: each version's row at its account, and the tombstone where a version moved it
    "INSERT INTO {db}.program_successes SELECT account_id, occurred_at, event_id, version, toUInt8(success != 1), "
    "program_id FROM {db}.touches WHERE program_id != '' AND (success = 1 OR retracts = 1) AND " + _WRITER_RECENT,
    "INSERT INTO {db}.program_successes SELECT prev_account_id, occurred_at, event_id, version, 1, program_id "
    "FROM {db}.touches WHERE program_id != '' AND retracts = 1 AND prev_account_id != account_id AND " + _WRITER_RECENT,
)
