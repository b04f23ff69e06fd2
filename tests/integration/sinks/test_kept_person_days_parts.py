"""The kept person-days' months that no tick writes to any more are merged into one part each (0054): a lookup
searches every part that may hold its key, so their number is what a tick's searches of old months cost."""
from __future__ import annotations

import time
from datetime import date, timedelta

PARTS = ("SELECT partition, count() FROM system.parts WHERE database = %(db)s AND table = 'person_day_minutes' "
         "AND active GROUP BY partition ORDER BY partition")
# person-days of account `a` on days of an old month from `day` on, at a version (as a tick writes them)
ROW = ("INSERT INTO {db}.person_day_minutes (account_id, person_key, day, channel, version, minutes, touches, claimed) "
       "SELECT 'a', number, toDate('{day}') + number % 20, 'web', {v}, 1.5, 1, 0 FROM numbers({start}, 50)")


def test_an_old_month_is_merged_into_one_part_once_nothing_writes_to_it(engine):
    client, settings = engine
    db = settings.database
    create = client.query(f"SHOW CREATE TABLE {db}.person_day_minutes").result_rows[0][0]
    assert "min_age_to_force_merge_seconds = 3600" in create
    assert "min_age_to_force_merge_on_partition_only = 1" in create
    client.command(f"SYSTEM STOP MERGES {db}.person_day_minutes")  # (until the parts are counted)
    # two old months within the retention (older rows a merge would delete): three writes each, three parts each
    months = [(date.today() - timedelta(days=days)).replace(day=1) for days in (70, 130)]
    for v, start in enumerate((0, 30, 60), start=1):
        for month in months:
            client.command(ROW.format(db=db, day=month, v=v, start=start))
    parts = dict(client.query(PARTS, parameters={"db": db}).result_rows)
    merged = {m.strftime("%Y%m"): 1 for m in months}
    assert parts == {m: 3 for m in merged}
    kept = client.query(f"SELECT count(), sum(minutes) FROM {db}.person_day_minutes FINAL").result_rows
    # the same setting, an hour made a second, so that the engine's merge can be awaited here
    client.command(f"ALTER TABLE {db}.person_day_minutes MODIFY SETTING min_age_to_force_merge_seconds = 1")
    client.command(f"SYSTEM START MERGES {db}.person_day_minutes")
    deadline = time.monotonic() + 120  # the engine picks one partition a round, a round every few seconds
    while parts != merged and time.monotonic() < deadline:
        time.sleep(0.5)
        parts = dict(client.query(PARTS, parameters={"db": db}).result_rows)
    assert parts == merged
    assert client.query(f"SELECT count(), sum(minutes) FROM {db}.person_day_minutes FINAL").result_rows == kept
