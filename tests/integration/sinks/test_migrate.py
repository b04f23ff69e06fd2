"""Numbered migrations: applied once, recorded, a second run is a no-op; views re-apply when changed."""
from __future__ import annotations

from sinks.migrate import load_migrations, migrate


def test_migrations_apply_once_and_record(engine):
    client, settings = engine
    names = {m.name for m in load_migrations(settings)}
    recorded = {r[0] for r in client.query(f"SELECT name FROM {settings.database}.schema_migrations").result_rows}
    assert recorded == names
    assert migrate(client, settings) == []  # second run: nothing to do
    tables = {r[0] for r in client.query(f"SHOW TABLES FROM {settings.database}").result_rows}
    assert {"touches", "engagement_daily", "accounts", "contacts", "rejected_events",
            "events", "account_engagement"} <= tables


def test_repeatable_view_file_reapplies_when_its_rendered_text_changes(engine):
    client, settings = engine
    changed = settings.replace(reporting_tz="Europe/Paris")
    applied = migrate(client, changed)
    repeatable = {m.name for m in load_migrations(changed) if m.repeatable}
    assert applied and set(applied) <= repeatable and all("view" in n for n in applied if n != "0900_reports.sql")
    assert "0900_reports.sql" in applied  # the reports follow the views they read (their columns)
    assert migrate(client, changed) == []


def test_every_analyst_column_has_a_comment(engine):
    client, settings = engine
    rows = client.query(
        "SELECT table, name, comment FROM system.columns WHERE database = %(db)s AND table IN ('touches', 'engagement_daily')",
        parameters={"db": settings.database},
    ).result_rows
    plain = {"event_id", "type", "email", "anonymous_id", "url", "name", "title"}
    missing = [f"{t}.{n}" for t, n, c in rows if not c and n not in plain and n not in ("account_id",)]
    assert len(missing) <= 8, f"columns without a comment: {missing}"
