"""Dashboard fixtures: a real worker (and hooks) with a scripted set of touches, and an empty one.

Starting a worker costs seconds, so the pages share one per module: `story` holds a registry and
touches sent through the hooks and waits until the engine shows them; `blank` is a migrated,
empty database. AppTest runs the dashboard in this process, reading the environment the worker
was started with (`env_for`), as `pulse ui` would.
"""
from __future__ import annotations

import dataclasses
import json
import os
import time
import urllib.error
import urllib.request
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from conftest import ROOT, env_for, free_port, sql_rows, start_service, wait_until
from report_helpers import refreshed_after_now
from schemas.settings import Settings

APP = ROOT / "ui" / "app.py"


# The story's summary reports are recomputed this often: its store is small, and the pages are read many times.
UI_REFRESH_SECONDS = 5


def fresh_settings(broker: str, data_dir: Path) -> Settings:
    """Like the `settings` fixture, for a module: own topics, database, data dir and a free port for
    every `*_port` setting (so a port another part adds later is free too)."""
    tag = uuid.uuid4().hex[:10]
    ports = {f.name: free_port() for f in dataclasses.fields(Settings) if f.name.endswith("_port")}
    ports.pop("broker_port", None)
    return Settings(kafka_bootstrap=broker, topic_prefix=f"t{tag}", partitions=2, app_id=f"pulse-test-{tag}",
                    data_dir=data_dir, database=f"t_{tag}", batch_seconds=0.2, worker_id="ui-test-worker",
                    hook_secrets=("ui-test-hook-secret",), report_refresh_seconds=UI_REFRESH_SECONDS, **ports)


@dataclasses.dataclass
class Running:
    settings: Settings
    services: list

    def stop(self) -> None:
        for service in reversed(self.services):
            service.stop()


def start_parts(settings: Settings, log_dir: Path, hooks: bool) -> Running:
    running = Running(settings, [])
    try:
        running.services.append(start_service("worker", ["worker"], settings,
                                              f"http://127.0.0.1:{settings.sql_port}/ping", log_dir))
        if hooks:
            running.services.append(start_service("hooks", ["hooks"], settings,
                                                  f"http://127.0.0.1:{settings.hooks_port}/health", log_dir))
    except BaseException:
        running.stop()
        raise
    return running


def post(settings: Settings, events: list[dict], path: str = "/hooks/events") -> dict:
    """Signed, to /hooks/events: the story names people and sends meetings and calls, which the public
    /collect does not take (and opportunities to /hooks/crm, as a CRM does)."""
    from streams.tracking import signatures

    body = json.dumps(events).encode()
    request = urllib.request.Request(f"{settings.hooks_url}{path}", data=body, method="POST", headers={
        "Content-Type": "application/json", **signatures.headers(settings.hook_secrets[0], int(time.time()), body)})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return json.loads(exc.read())


def send_story(settings: Settings) -> None:
    """Three target accounts and one other; touches today worked out by hand in test_pages.py."""
    from schemas.registry import (AccountRecord, ContactRecord, GoalRecord, GoalsChanged, ProgramRecord, SpendChanged,
                                  SpendRecord)
    from streams.producer import producer, publish_accounts, publish_contacts, publish_dated, publish_programs

    p = producer(settings)
    publish_accounts(p, settings, [
        AccountRecord(account_id="acme", name="Acme Rockets", domains=("acme.example",), tier="1", is_target=True,
                      committee_size=4, owner="Avery"),
        AccountRecord(account_id="globex", name="Globex Media", domains=("globex.example",), tier="2",
                      is_target=True, committee_size=8, owner="Blake"),
        AccountRecord(account_id="initech", name="Initech Labs", domains=("initech.example",), tier="3",
                      is_target=True, owner="Avery"),
        AccountRecord(account_id="umbrella", name="Umbrella Pharma", domains=("umbrella.example",), tier="3",
                      is_target=False, owner="Casey"),
    ])
    publish_contacts(p, settings, [
        ContactRecord(email="cleo@acme.example", account_id="acme", name="Cleo Chief", title="CEO", role="c_level"),
        ContactRecord(email="vic@acme.example", account_id="acme", name="Vic Vance", title="VP Sales", role="vp"),
        ContactRecord(email="ana@globex.example", account_id="globex", name="Ana Analyst", title="Analyst",
                      role="other"),
    ])
    publish_programs(p, settings, [ProgramRecord(program_id="cmp-nov", name="November newsletter", channel="email",
                                                          cost=Decimal("300.00")),
                                   ProgramRecord(program_id="evt-spring", name="Spring webinar", channel="event")])
    # this month's spend and won-revenue goal (the Revenue page's CAC, CLV and pace)
    month, at = datetime.now(timezone.utc).date().replace(day=1), datetime.now(timezone.utc)
    publish_dated(p, settings, SpendChanged, [SpendRecord(month=month, category="salaries", amount=Decimal("900.00"))],
                  at)
    publish_dated(p, settings, GoalsChanged, [GoalRecord(month=month, metric="won_amount", target=Decimal("3000.00"))],
                  at)
    p.close()
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM accounts")[0][0] == 4, 60,
               what="the registry in ClickHouse")
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM goals")[0][0] == 1, 60, what="the goal in ClickHouse")
    now = datetime.now(timezone.utc).isoformat()
    answer = post(settings, [
        {"type": "meeting", "occurred_at": now, "email": "cleo@acme.example", "duration_minutes": 60, "rep": "Avery"},
        {"type": "call", "occurred_at": now, "email": "vic@acme.example", "direction": "inbound",
         "duration_seconds": 1200, "outcome": "connected", "rep": "Avery"},
        {"type": "email_open", "occurred_at": now, "email": "cleo@acme.example", "campaign_id": "cmp-nov"},
        {"type": "page_view", "occurred_at": now, "email": "ana@globex.example", "url": "https://us.example/pricing"},
        {"type": "form_submit", "occurred_at": now, "email": "ana@globex.example", "form_id": "demo"},
        {"type": "page_view", "occurred_at": now, "email": "bob@gmail.com", "url": "https://us.example/"},
        {"type": "page_view", "occurred_at": "not a time", "url": "https://us.example/"},
    ])
    assert answer["accepted"] == 6, answer
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM events")[0][0] == 6, 60, what="6 stored touches")
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM rejected_events")[0][0] == 1, 60,
               what="the rejected event")
    send_opportunities(settings)
    send_lifecycle(settings)
    wait_for_the_story_views(settings)
    # sales accept acme after its MQA change (the Sales activity page's acceptance)
    decision = {"type": "account_status", "occurred_at": datetime.now(timezone.utc).isoformat(), "account_id": "acme",
                "status": "accepted", "reason": "fits the profile", "owner": "Avery"}
    assert post(settings, [decision], "/hooks/crm")["accepted"] == 1
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM account_statuses")[0][0] == 1, 60,
               what="the account decision")
    # the pages' summary reports, computed with all of the above (a test that adds data waits again)
    refreshed_after_now(settings, *(r for (r,) in sql_rows(settings, "SELECT report FROM report_refreshes")))


# The target accounts' minutes in the latest channel-trend snapshot, and whether the round's last snapshot
# (a round takes sinks/store.SNAPSHOTS in order) is from that round or later.
LATEST_SNAPSHOTS = """
WITH (SELECT max(evaluated_at) FROM target_channel_daily_snapshot) AS latest
SELECT (SELECT sum(minutes) FROM target_channel_daily_snapshot WHERE evaluated_at = latest),
       toUInt8((SELECT max(evaluated_at) FROM {last}_snapshot) >= latest)
"""


def wait_for_the_story_views(settings: Settings) -> None:
    """Until the stages, account_daily and a dashboard snapshot round hold the story's touches."""
    # the worker records stages on new touches (and at least every minute): the Overview reads them
    wait_until(lambda: dict(sql_rows(settings, "SELECT account_id, argMax(stage_to, changed_at) FROM stage_changes "
                                               "GROUP BY account_id")) == {"acme": "mqa", "globex": "engaged"}, 90,
               what="the stages of acme (MQA) and globex (engaged) in stage_changes")
    # and the pages' daily charts (account_daily: the tick that decided those stages kept it from the same
    # person-days as the people's sums it decided from)
    wait_until(lambda: dict(sql_rows(settings, "SELECT account_id, sum(minutes) FROM account_daily "
                                               "WHERE account_id != '' GROUP BY account_id"))
               == {"acme": Decimal("152.00"), "globex": Decimal("11.00")}, 60,
               what="the story's minutes in account_daily (acme 152, globex 11)")
    # the dashboard snapshots (the Overview's channel chart, reach, coverage) are taken a few seconds apart,
    # in this order, on a thread of their own: wait for a round that holds the touches
    from sinks.store import SNAPSHOTS

    latest = LATEST_SNAPSHOTS.format(last=SNAPSHOTS[-1])
    wait_until(lambda: sql_rows(settings, latest)[0] == (Decimal("163.00"), 1), 60,
               what="a dashboard snapshot round with the story's 163 target minutes")


def story_opportunities(now: datetime) -> list[dict]:
    """The CRM's side of the story (test_pages.py works the Revenue page out from it): today T,
      acme (target)    W1 won 1,200.00, created T-10, closed T (cycle 10);  P1 open Proposal 800.00, p=60, created T
      globex (target)  L1 lost 500.00, created T, closed T
      umbrella         W2 won 300.00, created T-2, closed T (cycle 2)
    and an older snapshot of W1 (Proposal), which the later won one supersedes. P1 is created now, after
    acme's email open of cmp-nov (send_story): that open is P1's one attribution touchpoint (Influence page)."""
    today = now.date()

    def created(days_ago: int, minutes_ago: int) -> datetime:
        # minutes before now, but never before that day began: just after midnight the cycles stay 10 and 2 days
        day_began = datetime.combine(today - timedelta(days=days_ago), datetime.min.time(), now.tzinfo)
        return max(now - timedelta(days=days_ago, minutes=minutes_ago), day_began)

    def opportunity(oid, account, amount, created_days_ago, stage, closed="", minutes_ago=5, **extra):
        return {"opportunity_id": oid, "account_id": account, "stage": stage, "is_closed": closed != "",
                "is_won": closed == "won", "amount": amount,
                "created_at": created(created_days_ago, minutes_ago).isoformat(),
                "close_date": today.isoformat() if closed else (today + timedelta(days=30)).isoformat(),
                "occurred_at": now.isoformat(), **extra}

    older = {**opportunity("W1", "acme", "1000.00", 10, "Proposal", probability=40),
             "occurred_at": (now - timedelta(minutes=3)).isoformat()}
    return [older, opportunity("W1", "acme", "1200.00", 10, "Closed Won", "won"),
            opportunity("P1", "acme", "800.00", 0, "Proposal", minutes_ago=0, probability=60),
            opportunity("L1", "globex", "500.00", 0, "Closed Lost", "lost"),
            opportunity("W2", "umbrella", "300.00", 2, "Closed Won", "won")]


def send_opportunities(settings: Settings) -> None:
    """Signed to /hooks/crm (its items are opportunities by default), as a CRM posts them."""
    answer = post(settings, story_opportunities(datetime.now(timezone.utc)), "/hooks/crm")
    assert answer["accepted"] == 5, answer
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM opportunity_snapshots")[0][0] == 5, 60,
               what="5 opportunity snapshots stored")


def story_lifecycle(now: datetime) -> list[dict]:
    """The CRM's lifecycle stages (test_pages.py works the Funnel page out from them), minutes ago:
      cleo@acme   lead 50 (marketing, Avery), mql 40, sql 10  -> 10 min a lead, 30 min an MQL
      ana@globex  lead 20 (marketing, Blake)                  -> ana also viewed a page today (send_story)
      vic@acme    subscriber 30 (sales)"""
    def change(email, stage, minutes_ago, **extra):
        return {"type": "lifecycle_change", "email": email, "stage": stage,
                "occurred_at": (now - timedelta(minutes=minutes_ago)).isoformat(), **extra}

    return [change("cleo@acme.example", "lead", 50, source="marketing", owner="Avery"),
            change("cleo@acme.example", "mql", 40), change("cleo@acme.example", "sql", 10),
            change("ana@globex.example", "lead", 20, source="marketing", owner="Blake"),
            change("vic@acme.example", "subscriber", 30, source="sales")]


def send_lifecycle(settings: Settings) -> None:
    answer = post(settings, story_lifecycle(datetime.now(timezone.utc)), "/hooks/crm")
    assert answer["accepted"] == 5, answer
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM lifecycle_changes")[0][0] == 5, 60,
               what="5 lifecycle changes stored")


@pytest.fixture(scope="module")
def story(broker, tmp_path_factory):
    settings = fresh_settings(broker, tmp_path_factory.mktemp("ui-story"))
    running = start_parts(settings, tmp_path_factory.mktemp("ui-story-logs"), hooks=True)
    try:
        send_story(settings)
        yield settings
    finally:
        running.stop()


@pytest.fixture(scope="module")
def blank(broker, tmp_path_factory):
    settings = fresh_settings(broker, tmp_path_factory.mktemp("ui-blank"))
    running = start_parts(settings, tmp_path_factory.mktemp("ui-blank-logs"), hooks=False)
    try:
        yield settings
    finally:
        running.stop()


@pytest.fixture
def dashboard(monkeypatch):
    """dashboard(settings, page=None, **state) -> AppTest after one run of that page."""
    def run(settings: Settings, page: str | None = None, query_params: dict | None = None, env: dict | None = None,
            **state) -> AppTest:
        for name in [k for k in os.environ if k.startswith(("PULSE_", "KAFKA_", "CLICKHOUSE_"))]:
            monkeypatch.delenv(name)
        for name, value in env_for(settings).items():
            if name.startswith(("PULSE_", "KAFKA_", "CLICKHOUSE_")):
                monkeypatch.setenv(name, value)
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        at = AppTest.from_file(str(APP), default_timeout=60)
        for key, value in state.items():
            at.session_state[key] = value
        for key, value in (query_params or {}).items():
            at.query_params[key] = value
        at.run()
        if page:
            at.switch_page(f"views/{page}.py").run()
        assert not at.exception, [e.value for e in at.exception]
        return at

    return run


def texts(at: AppTest) -> str:
    """Everything a reader sees in words: markdown, captions, info/warning/error boxes, metric labels."""
    parts = []
    for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader"):
        parts += [str(e.value) for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    return "\n".join(parts)
