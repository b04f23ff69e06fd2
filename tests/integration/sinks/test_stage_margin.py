"""Issue 17: a stage tick reads the changes of the last MARGIN again (an insert is stamped as it starts and
seen once it commits). A re-fold (a change of the scoring settings) or a contacts import that the tick before
had already taken in is not done again: on a store of 100M touches each full re-fold takes about 26 minutes,
and a first start did two (0047_stage_mark_seen.sql). One stamped in the margin but seen only later still is."""
from __future__ import annotations

import os
import time
from datetime import datetime, timedelta, timezone

from sinks.store import Store
from streams import stages
from tests.rollup_helpers import (  # noqa: F401 (zoned: a fixture)
    RandomEngagement, add_contacts, evaluated, mark_of, register, snapshot, zoned)

# wider than any of these tests takes, so that every stamp they make is re-read by the tick after it
MARGIN = timedelta(minutes=10)


def tick(client, db: str, store: Store) -> str:
    """One evaluation now, with the wide margin; its kind, after checking it against the full recomputation."""
    now = datetime.now(timezone.utc)
    stages.evaluate(store, now, margin=MARGIN)
    kind = mark_of(client, db, now)[0]
    assert snapshot(client, db) == [tuple(r) for r in evaluated(client, db, now)], f"a {kind} tick drifted"
    return kind


def started(zoned, seed: int) -> tuple:
    client, db = zoned
    store = Store(client, db)
    register(client, db)
    data = RandomEngagement(client, db, seed=seed, spread_days=40)
    data.round(datetime.now(timezone.utc) - timedelta(hours=1), 200, 0)
    return client, db, store, data


def test_a_settings_change_is_refolded_once(zoned):
    client, db, store, data = started(zoned, seed=21)
    assert tick(client, db, store) == "full"  # the first
    store.store_scoring_settings({"page_view_daily_cap": "25"}, datetime.now(timezone.utc))
    assert tick(client, db, store) == "full"
    data.round(datetime.now(timezone.utc), 20, 5)
    # the stamp is still in the margin this tick reads again, but the tick before had seen it
    assert tick(client, db, store) == "changed"


def test_a_refold_stamp_seen_only_after_the_tick_read_is_refolded(zoned):
    """A stamp whose insert began inside the margin but committed after the marking tick had read: the
    next tick finds more stamps in the margin than the mark says it saw."""
    client, db, store, data = started(zoned, seed=22)
    tick(client, db, store)
    read_until = client.query(f"SELECT max(read_until) FROM {db}.stage_marks").result_rows[0][0]
    client.insert(f"{db}.engagement_changes", [["refold_all", "", datetime(1970, 1, 1).date(),
                                                read_until - timedelta(seconds=1)]],
                  column_names=("scope", "account_id", "day", "changed_at"))
    assert tick(client, db, store) == "full"
    assert tick(client, db, store) == "changed"


def test_a_large_contacts_import_is_taken_in_once(zoned, monkeypatch):
    monkeypatch.setattr(stages, "CONTACTS_TO_RECOMPUTE", 1)
    client, db, store, data = started(zoned, seed=23)
    tick(client, db, store)
    add_contacts(client, db, ["ann@a.example", "bob@a.example"])
    assert tick(client, db, store) == "full"
    assert tick(client, db, store) == "changed"
    add_contacts(client, db, ["cy@b.example"])  # one more than the mark saw: a small import, done by itself
    assert tick(client, db, store) == "changed"


def test_a_worker_west_of_utc_takes_in_every_change(zoned):
    """ClickHouse returns the marks' moments without a zone (their UTC wall time). A worker whose local zone is
    west of UTC read them as local, hours later than they were, so the next tick looked for changes from hours
    ahead and took in none: the account stayed at its old numbers until the next day's evaluation."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    try:
        client, db, store, data = started(zoned, seed=24)
        assert tick(client, db, store) == "full"
        data.round(datetime.now(timezone.utc), 20, 5)
        assert tick(client, db, store) == "changed"  # and equal to the full recomputation (tick checks)
    finally:
        os.environ.pop("TZ") if before is None else os.environ.update(TZ=before)
        time.tzset()
