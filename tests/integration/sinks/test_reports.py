"""The summary reports (sinks/migrations/0900_reports.sql): each answers exactly what its live definition
computes, as of its last refresh; a refresh asked for after a write sees the write; the interval is the
setting's; a report is rebuilt when a view file changes its text."""
from __future__ import annotations

import re
from decimal import Decimal

from pulse.bench import funnel, revenue
from sinks.erasure import ErasureStore
from sinks.migrate import load_migrations, migrate
from sinks.reports import PERSON_REPORTS, refresh_reports, report_views

REPORTS = revenue.REPORTS + funnel.REPORTS
# The reports whose live view sorts its rows: they answer in the same order
ORDERED = ("funnel_summary", "funnel_counts", "funnel_conversion", "engagement_influence", "program_attribution",
           "sales_activity_summary", "sla_by_owner", "account_mqa_decisions", "account_acceptance")


def rows(client, sql: str) -> list[tuple]:
    return sorted(client.query(sql).result_rows, key=repr)


def test_the_reports_are_the_heavy_views_of_the_contract(engine):
    client, settings = engine
    assert sorted(v.removesuffix("_report") for v in report_views(client, settings.database)) == sorted(REPORTS)
    assert set(PERSON_REPORTS) <= set(REPORTS) and len(set(REPORTS)) == len(REPORTS) == 18


def test_every_report_answers_what_its_live_view_computes_once_refreshed(engine):
    client, settings = engine
    db = settings.database
    revenue.generate(client, 300, 2_400, 6_000, db=db)
    funnel.generate(client, 2_000, 4_000, 0, db=db)
    refresh_reports(client, db)
    empty = []
    for name in REPORTS:
        live = rows(client, f"SELECT * FROM {db}.{name}_live")
        assert rows(client, f"SELECT * FROM {db}.{name}") == live, name
        empty += [name] if not live else []
    for name in ORDERED:
        live = client.query(f"SELECT * FROM {db}.{name}_live").result_rows
        assert client.query(f"SELECT * FROM {db}.{name}").result_rows == live, f"{name}: rows in another order"
    assert not empty, f"nothing generated for {empty}: the comparison proves nothing there"


def test_a_refresh_asked_for_after_a_write_sees_it(engine):
    client, settings = engine
    db = settings.database
    migrate(client, settings.replace(report_refresh_seconds=86400))  # no scheduled refresh during the test
    revenue.generate(client, 100, 400, 0, db=db)
    refresh_reports(client, db, only=("revenue_summary",))
    before = client.query(f"SELECT pipeline_created_amount FROM {db}.revenue_summary "
                          "WHERE period = '365d' AND audience = 'all'").result_rows[0][0]
    client.command(f"INSERT INTO {db}.opportunity_snapshots (event_id, opportunity_id, account_id, occurred_at, "
                   "received_at, stage, is_closed, is_won, amount, currency, created_at, close_date, type) "
                   "VALUES (generateUUIDv4(), 'new-one', 'a1', now64(3), now64(3), 'Prospecting', 0, 0, 1234.56, "
                   "'USD', now64(3), today() + 30, 'new_business')")
    assert client.query(f"SELECT pipeline_created_amount FROM {db}.revenue_summary WHERE period = '365d' "
                        "AND audience = 'all'").result_rows[0][0] == before  # served from the last result
    refresh_reports(client, db, only=("revenue_summary",))
    after = client.query(f"SELECT pipeline_created_amount FROM {db}.revenue_summary "
                         "WHERE period = '365d' AND audience = 'all'").result_rows[0][0]
    assert after - before == Decimal("1234.56")
    refreshed = client.query(f"SELECT refreshed_at, error FROM {db}.report_refreshes "
                             "WHERE report = 'revenue_summary'").result_rows
    assert len(refreshed) == 1 and refreshed[0][0] is not None and refreshed[0][1] == "", refreshed


def test_the_refresh_interval_is_the_setting(engine):
    client, settings = engine
    db = settings.database
    for seconds in (7, 45):
        assert migrate(client, settings.replace(report_refresh_seconds=seconds)) == ["0900_reports.sql"]
        shown = client.query(f"SHOW CREATE TABLE {db}.sales_velocity_report").result_rows[0][0]
        assert f"REFRESH EVERY {seconds} SECOND" in shown, shown


def test_every_report_refreshes_at_the_lowest_priority(engine):
    """At 100M the refreshes ran nearly all the time and took as much of the engine as the sink: each yields
    to it as the worker's other bulk jobs do (BENCHMARKS.md, "The sink alone on the kept 100M store")."""
    client, settings = engine
    db = settings.database
    for view in report_views(client, db):
        shown = client.query(f"SHOW CREATE TABLE {db}.{view}").result_rows[0][0]
        assert "os_thread_priority = 19" in shown, view
    # and the engine runs a refresh with its query's settings (a probe made the way the reports are)
    client.command(f"CREATE MATERIALIZED VIEW {db}.priority_probe REFRESH EVERY 1 HOUR ENGINE = MergeTree "
                   "ORDER BY tuple() AS SELECT getSetting('os_thread_priority') AS p SETTINGS os_thread_priority = 19")
    client.command(f"SYSTEM REFRESH VIEW {db}.priority_probe")
    client.command(f"SYSTEM WAIT VIEW {db}.priority_probe")
    assert client.query(f"SELECT toString(p) FROM {db}.priority_probe").result_rows == [("19",)]


def test_in_the_embedded_engine_each_refresh_takes_one_thread(engine):
    """The engine shares the worker's cores: on two threads funnel_counts took as long at 100M, twice the memory,
    and both cores a third of every minute (BENCHMARKS.md). A server's refreshes keep the server's threads."""
    client, settings = engine
    db = settings.database
    for view in report_views(client, db):
        shown = client.query(f"SHOW CREATE TABLE {db}.{view}").result_rows[0][0]
        assert "max_threads = 1" in shown, view
    served = settings.replace(clickhouse_url="http://pulse:secret@127.0.0.1:8123")
    reports = {m.name: m.sql for m in load_migrations(served)}["0900_reports.sql"]
    assert "os_thread_priority = 19" in reports and "max_threads" not in reports
    client.command(f"CREATE MATERIALIZED VIEW {db}.threads_probe REFRESH EVERY 1 HOUR ENGINE = MergeTree "
                   "ORDER BY tuple() AS SELECT getSetting('max_threads') AS t SETTINGS max_threads = 1")
    client.command(f"SYSTEM REFRESH VIEW {db}.threads_probe")
    client.command(f"SYSTEM WAIT VIEW {db}.threads_probe")
    assert client.query(f"SELECT toString(t) FROM {db}.threads_probe").result_rows == [("1",)]


def test_each_report_refreshes_in_its_own_second_of_the_period(engine):
    # all eighteen starting the same second ran side by side: their memory added up (BENCHMARKS.md, at 100M)
    client, settings = engine
    db = settings.database
    migrate(client, settings.replace(report_refresh_seconds=60))
    views = report_views(client, db)
    shown = [client.query(f"SHOW CREATE TABLE {db}.{view}").result_rows[0][0] for view in views]
    offsets = sorted(int(re.search(r"OFFSET (\d+) SECOND", text).group(1)) for text in shown)
    assert len(views) == 18 and offsets[0] == 0 and offsets[-1] < 60, offsets
    assert min(b - a for a, b in zip(offsets, offsets[1:])) >= 60 // 18, offsets
    refresh_reports(client, db)  # then each waits for its own second of the next minute
    scheduled = client.query(f"SELECT toSecond(next_refresh_at) FROM {db}.report_refreshes").result_rows
    assert sorted(row[0] for row in scheduled) == offsets


def test_the_reports_file_is_applied_again_when_a_view_before_it_changes(settings):
    before = {m.name: m.checksum for m in load_migrations(settings)}
    later = {m.name: m.checksum for m in load_migrations(settings.replace(attribution_days=30))}
    changed = sorted(name for name in before if before[name] != later[name])
    assert changed == ["0600_influence_views.sql", "0900_reports.sql"], changed


def test_an_erasure_computes_the_reports_again_at_once(engine):
    client, settings = engine
    db = settings.database
    funnel.generate(client, 300, 0, 0, db=db)
    count = f"SELECT reached FROM {db}.funnel_counts WHERE period = '365d' AND source = 'all' AND stage = 'subscriber'"
    refresh_reports(client, db, only=("funnel_counts",))
    before = client.query(count).result_rows[0][0]
    person = client.query(f"SELECT email FROM {db}.lifecycle_changes WHERE stage = 'subscriber' "
                          "AND occurred_at > now() - INTERVAL 300 DAY ORDER BY email LIMIT 1").result_rows[0][0]
    erasure = ErasureStore(client, db)
    emails, cookies = erasure.linked({person}, set())
    erasure.erase(emails, cookies, [])
    # the refresh the erasure started (the schedule's next is a minute away): waited for, not asked for here
    client.command(f"SYSTEM WAIT VIEW {db}.funnel_counts_report")
    assert client.query(count).result_rows[0][0] == before - 1


def test_an_erasure_is_done_once_no_report_names_the_person(engine):
    client, settings = engine
    db = settings.database
    funnel.generate(client, 300, 0, 0, db=db)
    refresh_reports(client, db)
    person = client.query(f"SELECT email FROM {db}.lifecycle_changes ORDER BY email LIMIT 1").result_rows[0][0]
    named = f"SELECT (SELECT count() FROM {db}.person_lifecycle WHERE email = %(p)s), " \
            f"(SELECT count() FROM {db}.lifecycle_history WHERE person = %(p)s)"
    assert all(client.query(named, parameters={"p": person}).result_rows[0])
    erasure = ErasureStore(client, db)
    erasure.erase(*erasure.linked({person}, set()), [])
    assert client.query(named, parameters={"p": person}).result_rows[0] == (0, 0)
