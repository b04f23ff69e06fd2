"""Random engagement for the rollup tests (issue 17): touches written through the real writer, new
versions that move them (re-attribution, re-scoring), and account_engagement's formula computed
straight from the raw touches (touches FINAL), as it was before the rollups, to compare with."""
from __future__ import annotations

import random
import re
import uuid
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import msgspec
import pytest

from schemas.settings import Settings
from schemas.registry import ACCOUNT_COLUMNS, AccountRecord
from schemas.rows import TouchRow
from sinks.client import writer_client
from sinks.migrate import load_migrations, migrate
from sinks.stage_marks import LATEST_MARK
from sinks.writer import ClickHouseWriter

TZ = "America/Los_Angeles"
ACCOUNTS = [f"acct-{i}" for i in range(8)]
PEOPLE = ["ann@a.example", "bob@a.example", "cy@b.example", "anon-1", "anon-2", ""]
CONTACTS = ["ann@a.example"]
KINDS = {"page_view": "web", "email_open": "email", "form_submit": "form", "meeting": "meeting",
         "page_engagement": "web"}
MULTIPLIERS = (Decimal("1"), Decimal("1.25"), Decimal("1.5"))


def register(client, database: str, accounts=ACCOUNTS) -> None:
    now = datetime.now(timezone.utc)
    records = [AccountRecord(account_id=a, name=a.upper(), is_target=True) for a in accounts]
    client.insert(f"{database}.accounts", [[getattr(r, c) for c in ACCOUNT_COLUMNS] + [now] for r in records],
                  column_names=ACCOUNT_COLUMNS + ("updated_at",))


def add_contacts(client, database: str, emails) -> None:
    client.insert(f"{database}.contacts", [[e, "", e, "", "other", datetime.now(timezone.utc)] for e in emails],
                  column_names=("email", "account_id", "name", "title", "role", "updated_at"))


def random_touch(rng: random.Random, at: datetime, spread_days: int) -> TouchRow:
    """A touch up to `spread_days` before `at` (a few after it), near a midnight of the reporting zone
    half of the time, on one of a few accounts and people (or none), page views often over the cap."""
    kind = rng.choice(["page_view", "page_view", "page_view", "email_open", "form_submit", "meeting",
                       "page_engagement"])
    local = at.astimezone(ZoneInfo(TZ)) - timedelta(days=rng.randint(-2, rng.choice([2, 9, spread_days])))
    if rng.random() < 0.5:  # just before or after a local midnight
        local = local.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(seconds=rng.randint(-90, 90))
    occurred = local.astimezone(timezone.utc)
    base = Decimal(rng.randint(0, 1200)) / 100 if kind != "form_submit" else Decimal(10)
    minutes = (base * rng.choice(MULTIPLIERS)).quantize(Decimal("0.01"))
    person = rng.choice(PEOPLE)
    account = rng.choice(ACCOUNTS + ["", "not-registered"])
    return TouchRow(uuid.uuid4(), kind, occurred, occurred, local.date(), account, person, "contact", KINDS[kind],
                    rng.choice(["", "prog-1"]), minutes, base, rng.randint(0, 1), person, "", "", "", "{}")


def moved(rng: random.Random, row: TouchRow) -> TouchRow:
    """A new version of a stored touch: another account or person, re-scored (traffic: 0 minutes, say)."""
    minutes = rng.choice([row.minutes, Decimal(0), (row.minutes * Decimal("1.5")).quantize(Decimal("0.01"))])
    base = row.base_minutes if minutes else Decimal(0)
    return msgspec.structs.replace(
        row, account_id=rng.choice(ACCOUNTS + [""]), person=rng.choice(PEOPLE), minutes=minutes, base_minutes=base,
        success=rng.randint(0, 1), retracts=1, prev_account_id=row.account_id, prev_person=row.person,
        prev_minutes=row.minutes, prev_base_minutes=row.base_minutes, prev_success=row.success)


@pytest.fixture
def zoned(engine_dir, settings):
    """The in-process engine, migrated with a reporting time zone eight hours off UTC."""
    settings = settings.replace(data_dir=engine_dir, reporting_tz=TZ)
    client = writer_client(settings)
    migrate(client, settings)
    yield client, settings.database
    client.command(f"DROP DATABASE IF EXISTS {settings.database}")


class RandomEngagement:
    """Writes rounds of random touches, and moves some stored ones, keeping each touch's latest version."""

    def __init__(self, client, database: str, seed: int, spread_days: int = 420):
        self.rng = random.Random(seed)
        self.writer = ClickHouseWriter(client, database, f"rollups-{seed}")
        self.writer.start()
        self.latest: dict[uuid.UUID, TouchRow] = {}
        self.spread_days = spread_days

    def round(self, at: datetime, new: int, moves: int) -> None:
        rows = [random_touch(self.rng, at, self.spread_days) for _ in range(new)]
        for _ in range(new // 50):  # a person reading many pages in a day: over the page-view cap
            first = random_touch(self.rng, at, 9)
            rows += [msgspec.structs.replace(first, event_id=uuid.uuid4(), type="page_view", channel="web",
                                             base_minutes=Decimal(5), minutes=Decimal("6.25")) for _ in range(8)]
        self.writer.write(rows)
        self.latest.update((r.event_id, r) for r in rows)
        chosen = self.rng.sample(sorted(self.latest, key=str), min(moves, len(self.latest)))
        versions = [moved(self.rng, self.latest[i]) for i in chosen]
        self.writer.replace(versions)
        self.latest.update((r.event_id, r) for r in versions)


# The person-days straight from the raw touches (touches FINAL: each touch's latest version), the caps
# (the defaults: no scoring_settings are stored here) applied to each person-day's touches.
RAW_PERSON_DAILY = """
SELECT account_id, person, day, channel,
       toDecimal64(if(channel = 'form' AND count() * form_base > form_cap,
           toDecimal128(round(sum(minutes) * form_cap / (count() * form_base), 2), 2),
           sumIf(minutes, type != 'page_view')
           + if(sumIf(base_minutes, type = 'page_view') > cap,
                toDecimal128(round(sumIf(minutes, type = 'page_view') * cap / sumIf(base_minutes, type = 'page_view'), 2), 2),
                toDecimal128(sumIf(minutes, type = 'page_view'), 2))), 2) AS minutes,
       toInt64(count()) AS touches
FROM {db}.touches FINAL
CROSS JOIN (SELECT toDecimal64(30, 2) AS cap, toDecimal64(10, 2) AS form_cap, toDecimal64(10, 2) AS form_base) AS caps
WHERE type != 'page_engagement'
GROUP BY account_id, person, day, channel, cap, form_cap, form_base
"""

RAW_LAST_ACTIVITY = """last_activity AS
(
    SELECT account_id, max(occurred_at) AS last_activity_at FROM {db}.touches FINAL
    WHERE account_id != '' AND minutes > 0 GROUP BY account_id
)
SELECT"""


def raw_engagement(client, database: str, at: datetime) -> list[tuple]:
    """account_engagement as at `at`, the formula of 0100_views.sql over the raw touches instead of the
    signed person-day sums (engagement_daily) and account_touches: what it computed before them."""
    view = next(m for m in load_migrations(Settings(database=database, reporting_tz=TZ)) if m.name == "0100_views.sql")
    head = f"CREATE OR REPLACE VIEW {database}.account_engagement_eval AS"
    sql = next(s for s in view.statements() if s.startswith(head))[len(head):]
    sql = sql.replace(f"{database}.engagement_person_daily", f"({RAW_PERSON_DAILY})".replace("{db}", database))
    sql = re.sub(r"last_activity AS\n\(.*?\n\)\nSELECT", RAW_LAST_ACTIVITY.replace("{db}", database), sql, flags=re.S)
    # the contacts it looks up: those among every stored touch's people
    sql = re.sub(rf"FROM {database}\.engagement_daily\s+WHERE kind = 'touch' AND account_id IN chosen",
                 f"FROM {database}.touches", sql)
    for name, value in (("at:DateTime64(3, 'UTC')", f"toDateTime64('{literal(at)}', 3, 'UTC')"),
                        ("slices:UInt32", "1"), ("slice:UInt32", "0"), ("batch:UInt64", "0")):
        sql = sql.replace("{%s}" % name, value)
    assert "account_touches" not in sql and "engagement_daily" not in sql
    return client.query(sql + " ORDER BY account_id").result_rows


def literal(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def evaluated(client, database: str, at: datetime) -> list[tuple]:
    return client.query(f"SELECT * FROM {database}.account_engagement_eval(slices = 1, slice = 0, batch = 0, "
                        f"at = '{literal(at)}') ORDER BY account_id").result_rows


def snapshot(client, db: str) -> list[tuple]:
    """The kept account_engagement_snapshot, as evaluated() computes it (without evaluated_at)."""
    return [r[1:] for r in client.query(f"SELECT * FROM {db}.account_engagement_snapshot FINAL "
                                        "ORDER BY account_id").result_rows]


def mark_of(client, db: str, now: datetime) -> tuple:
    """(kind, decided, took_ms, snapshot rows at `now`) of the evaluation taken at `now`."""
    at = {"ms": int(now.timestamp() * 1000)}
    return client.query(
        f"SELECT kind, decided, took_ms, (SELECT count() FROM {db}.account_engagement_snapshot "
        f"WHERE evaluated_at = fromUnixTimestamp64Milli(%(ms)s, 'UTC')) FROM {db}.stage_marks "
        f"WHERE marked_at = fromUnixTimestamp64Milli(%(ms)s, 'UTC')", parameters=at).result_rows[0]


def account_days(client, db: str, source: str) -> set[tuple]:
    return set(client.query(f"SELECT account_id, day, channel, sum(minutes), sum(touches) FROM {source} "
                            "WHERE account_id != '' GROUP BY account_id, day, channel "
                            "HAVING sum(minutes) != 0 OR sum(touches) != 0").result_rows)


def kept_sums(client, db: str) -> dict:
    """Every account's kept sums over its people (sinks/stage_state.py), as the tick reads them."""
    return {r[0]: tuple(r[1:]) for r in client.query(
        f"SELECT account_id, sum(m7), sum(m30), sum(m90), sum(mtd), sum(ytd), sum(m_prior28), sum(engaged), "
        f"sum(over_20) FROM {db}.account_state WHERE account_id != '' GROUP BY account_id "
        f"HAVING (sum(m7), sum(m30), sum(m90), sum(mtd), sum(ytd), sum(m_prior28), sum(engaged), sum(over_20)) "
        f"!= (0, 0, 0, 0, 0, 0, 0, 0)").result_rows}


def kept_person_days(client, db: str) -> set[tuple]:
    """Each person-day's kept capped minutes (sinks/day_state.py), those with minutes or touches."""
    return set(client.query(f"SELECT account_id, person_key, day, channel, minutes, touches, claimed "
                            f"FROM {db}.person_day_minutes FINAL WHERE minutes != 0 OR touches != 0").result_rows)


def fresh_person_days(client, db: str) -> set[tuple]:
    """The same computed from scratch, from the raw person-days (person_days)."""
    return set(client.query(f"SELECT account_id, person_key, day, channel, minutes, touches, claimed "
                            f"FROM {db}.person_day_values(batch = 0, slices = 1, slice = 0) "
                            f"WHERE minutes != 0 OR touches != 0").result_rows)


def fresh_sums(client, db: str, day: date | None = None) -> dict:
    """The same sums computed from scratch, as at `day` (None: the day of the latest evaluation): from the kept
    person-days, which the tests compare with the raw ones (above)."""
    day = day or _marked_day(client, db)
    return {r[0]: tuple(r[1:]) for r in client.query(
        f"SELECT account_id, sum(m7), sum(m30), sum(m90), sum(mtd), sum(ytd), sum(m_prior28), sum(engaged), "
        f"sum(over_20) FROM {db}.person_windows(today = %(day)s, slices = 1, slice = 0, batch = 0) "
        f"GROUP BY account_id HAVING (sum(m7), sum(m30), sum(m90), sum(mtd), sum(ytd), sum(m_prior28), "
        f"sum(engaged), sum(over_20)) != (0, 0, 0, 0, 0, 0, 0, 0)", parameters={"day": day}).result_rows}


def _marked_day(client, db: str) -> date:
    return client.query(f"SELECT argMax(today, {LATEST_MARK}) FROM {db}.stage_marks").result_rows[0][0]


_PERSON = "m7, m30, m90, mtd, ytd, m_prior28, engaged, over_20, confirmed"


def kept_people(client, db: str) -> set[tuple]:
    """Each person's kept sums and confirmation (those not all zero)."""
    return set(client.query(
        f"SELECT account_id, person_key, {_PERSON} FROM {db}.person_state FINAL "
        f"WHERE (m90, ytd, m_prior28, confirmed) != (0, 0, 0, 0) OR m7 != 0 OR mtd != 0").result_rows)


def fresh_people(client, db: str) -> set[tuple]:
    day = _marked_day(client, db)
    return set(client.query(
        f"SELECT account_id, person_key, {_PERSON} FROM {db}.person_windows(today = %(day)s, slices = 1, slice = 0, "
        f"batch = 0) WHERE (m90, ytd, m_prior28, confirmed) != (0, 0, 0, 0) OR m7 != 0 OR mtd != 0",
        parameters={"day": day}).result_rows)


def people_without_state(client, db: str) -> set[tuple]:
    """People with a kept person-day in the 400 days but no kept state (sinks/stage_state.py, FRESH: none may be
    missing, or a tick would take them for new and count only their newest days)."""
    return set(client.query(
        f"SELECT DISTINCT account_id, person_key FROM {db}.person_day_minutes FINAL "
        f"WHERE touches != 0 AND day > toDate(%(day)s) - 400 AND day <= toDate(%(day)s) "
        f"AND (account_id, person_key) NOT IN (SELECT account_id, person_key FROM {db}.person_state)",
        parameters={"day": _marked_day(client, db)}
    ).result_rows)


def three_hours_ago() -> datetime:
    """On the hour, three hours ago; three more when the ticks of the next two hours would cross a reporting
    day (eight hours off UTC), whose evaluation is a day's, not a change's."""
    start = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) - timedelta(hours=3)
    return start - timedelta(hours=3) if start.astimezone(ZoneInfo(TZ)).hour >= 22 else start
