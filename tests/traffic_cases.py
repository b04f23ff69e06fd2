"""The traffic tests' cases on the engine (tests/integration/streams/test_traffic_*.py): an account, a campaign,
a writer and scoring, page views, opens and clicks at given moments."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from schemas.events import EmailClick, EmailOpen, PageView
from schemas.registry import ACCOUNT_COLUMNS, PROGRAM_COLUMNS, AccountRecord, ProgramRecord
from sinks.writer import ClickHouseWriter
from streams.core.registry import Registry
from streams.core.score import Scoring
from streams.core.traffic import TrafficRules
from streams.core.weights import Weights

NOW = datetime.now(timezone.utc).replace(microsecond=0)
HOUR_AGO = NOW - timedelta(hours=1)
# An hour ago, but never in the day's last half hour: the behaviour rules count per day, and a test's
# touches (minutes after T0) must share one (run just after 01:00 they would straddle midnight).
T0 = min(HOUR_AGO, HOUR_AGO.replace(hour=23, minute=30, second=0))
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")
GOOGLEBOT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"


def traffic_setup(engine, rules: TrafficRules | None = None):
    client, settings = engine
    registry = Registry()
    acme = AccountRecord(account_id="acme", name="Acme", domains=("acme.example",), is_target=True)
    registry.upsert_account(acme)
    writer = ClickHouseWriter(client, settings.database, "traffic")
    writer.start()
    writer.store.store_records("accounts", ACCOUNT_COLUMNS, [acme], NOW)
    writer.store.store_records("programs", PROGRAM_COLUMNS,
                               [ProgramRecord(program_id="nov", name="Nov", channel="email")], NOW)
    return writer, Scoring(registry, Weights(), ZoneInfo("UTC"), traffic=rules or TrafficRules())


def page_view(n: int, at: datetime, cookie: str = "c1", agent: str = CHROME, email: str | None = None, **kw) -> PageView:
    return PageView(event_id=uuid.UUID(int=n, version=4), occurred_at=at, url=f"https://www.example.com/{n}",
                    anonymous_id=cookie, user_agent=agent, email=email, ip="198.51.100.7", **kw)


def query_rows(client, query: str, database: str) -> list[tuple]:
    return client.query(query.format(db=database)).result_rows


def mail_touch(n: int, kind: str, at: datetime, url: str = "https://www.example.com/a", who: str = "ana@acme.example"):
    if kind == "open":
        return EmailOpen(event_id=uuid.UUID(int=n, version=4), occurred_at=at, email=who, campaign_id="nov",
                         user_agent=CHROME)
    return EmailClick(event_id=uuid.UUID(int=n, version=4), occurred_at=at, email=who, campaign_id="nov",
                      url=url, user_agent=CHROME)
