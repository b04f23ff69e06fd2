"""Finding a tick's stage changes (streams/stages.detect) on the real engine: it reads the recorded stage of
the accounts the tick decided only, so its cost follows the tick, not the number of accounts, and its
changes are those of a comparison with every recorded stage."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

from sinks.store import Store
from streams import stages

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)


def evaluated(client, db: str, at: datetime, stages_of: dict[str, str]) -> None:
    client.insert(f"{db}.account_engagement_snapshot",
                  [[at, a, s, Decimal("12.50")] for a, s in stages_of.items()],
                  column_names=("evaluated_at", "account_id", "stage", "minutes_90d"))


def test_a_tick_reads_the_recorded_stage_of_its_accounts_only(engine):
    client, settings = engine
    db = settings.database
    store = Store(client, db)
    evaluated(client, db, NOW - timedelta(minutes=5), {"a1": "aware", "a2": "engaged", "a3": "mqa"})
    first = stages.detect(store, NOW - timedelta(minutes=5))
    stages.record(store, first)
    assert sorted(c.change_id for c in first) == ["a1:1", "a2:1", "a3:1"]

    evaluated(client, db, NOW, {"a1": "engaged", "a2": "engaged", "a4": "aware"})  # a3 not decided this tick
    assert sorted(a for a, _, _ in store.recorded_stages(NOW)) == ["a1", "a2"]
    assert sorted(a for a, _, _ in store.recorded_stages()) == ["a1", "a2", "a3"]

    everyone = {a: (s, n) for a, s, n in store.recorded_stages()}
    now_decided = {a: (s, m) for a, s, m in store.evaluated_stages(NOW)}
    changes = stages.detect(store, NOW)
    assert changes == stages.diff(now_decided, everyone, NOW)
    assert [(c.change_id, c.stage_from, c.stage_to) for c in changes] == [
        ("a1:2", "aware", "engaged"), ("a4:1", "unaware", "aware")]


def test_an_evaluation_that_decided_nobody_reads_no_recorded_stage(engine):
    client, settings = engine
    store = Store(client, settings.database)
    evaluated(client, settings.database, NOW - timedelta(minutes=5), {"a1": "mqa"})
    stages.record(store, stages.detect(store, NOW - timedelta(minutes=5)))
    assert store.recorded_stages(NOW) == []
    assert stages.detect(store, NOW) == []
