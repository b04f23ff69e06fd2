"""The funnel views on the real engine (issue 16), against numbers worked out by hand: a person's current
stage and first-entered times whatever the arrival order (skipped stages, a move back, ties, duplicates,
`other`), funnel_summary at each period's first day (in) and the day before it (out) with conversion over
an empty base, each account's latest sales decision, and the views against the Python rules
(streams/core/lifecycle.py) on generated histories. Records go through the sink the worker uses."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta, timezone

from schemas.registry import ACCOUNT_COLUMNS, AccountRecord
from schemas.rows import AccountStatusRow, LifecycleRow
from schemas.validate import Accepted, validate
from sinks.crm_records import write_records
from sinks.reports import refresh_reports
from sinks.writer import ClickHouseWriter
from streams.core.lifecycle import current_stages, first_entered, funnel_order

NOW = datetime.now(timezone.utc).replace(microsecond=0)
TODAY = NOW.date()
H = timedelta(hours=1)
AGE = timedelta(days=800)
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other")


def change(email: str, stage: str, at: datetime, event_id: str | None = None, **extra) -> dict:
    item = {"type": "lifecycle_change", "email": email, "stage": stage, "occurred_at": at.isoformat(), **extra}
    return item | ({"event_id": event_id} if event_id else {})


def status(account_id: str, value: str, at: datetime, event_id: str | None = None, **extra) -> dict:
    item = {"type": "account_status", "account_id": account_id, "status": value, "occurred_at": at.isoformat(), **extra}
    return item | ({"event_id": event_id} if event_id else {})


def store(client, db, items: list[dict]) -> tuple[int, int, int]:
    rows = []
    for item in items:
        result = validate(item, now=NOW, max_age=AGE, stages=STAGES)
        assert isinstance(result, Accepted), (item, result)
        kind = LifecycleRow if item["type"] == "lifecycle_change" else AccountStatusRow
        rows.append(kind.of(result.event, NOW))
    writer = ClickHouseWriter(client, db, "w-funnel")
    writer.start()
    return write_records(writer, rows)


def query(client, sql: str) -> list[tuple]:
    return client.query(sql).result_rows


def utc(at: datetime) -> datetime:
    return at.replace(tzinfo=None)  # the engine returns DateTime64('UTC') without a zone


# ann, in arrival order: customer (newest but one) first, her first change (lead) late, sql twice, then a
# move back to lead, the newest. bob: mql and sql at the same instant, the larger event_id (sql) wins.
# cat: only `other`, outside the order.
HISTORY = [
    change("ann@acme.com", "customer", NOW - 5 * H, source="sales", owner="rita"),
    change("ann@acme.com", "lead", NOW - 30 * H, source="marketing", owner="rita", lead_status="new"),
    change("ann@acme.com", "sql", NOW - 20 * H, owner="rita"),
    change("ann@acme.com", "sql", NOW - 20 * H, owner="rita"),
    change("ann@acme.com", "lead", NOW - 3 * H, owner="sam", lead_status="reopened", account_id="acme"),
    change("bob@beta.com", "mql", NOW - 2 * H, event_id="00000000-0000-4000-8000-00000000000f"),
    change("bob@beta.com", "sql", NOW - 2 * H, event_id="00000000-0000-4000-8000-0000000000f0"),
    change("cat@gamma.com", "other", NOW - 1 * H),
]


def test_current_stage_and_first_entered_whatever_the_arrival_order(engine):
    client, settings = engine
    db = settings.database
    assert store(client, db, HISTORY) == (7, 1, 0)
    assert store(client, db, HISTORY) == (0, 8, 0)  # a re-send changes nothing
    refresh_reports(client, db, only=("person_lifecycle",))
    rows = query(client, f"SELECT email, account_id, stage, changed_at, owner, lead_status, source, changes "
                         f"FROM {db}.person_lifecycle ORDER BY email")
    assert rows == [
        ("ann@acme.com", "acme", "lead", utc(NOW - 3 * H), "sam", "reopened", "marketing", 4),
        ("bob@beta.com", "", "sql", utc(NOW - 2 * H), "", "", "", 2),
        ("cat@gamma.com", "", "other", utc(NOW - 1 * H), "", "", "", 1),
    ]
    # Reaching a stage = reaching it or a later one: ann's lead (30 h ago) reached subscriber too, her sql
    # (20 h) reached mql, her customer (5 h) opportunity; the move back to lead un-reaches nothing.
    ann = dict(query(client, f"SELECT stage, entered_at FROM {db}.person_stages WHERE email = 'ann@acme.com'"))
    assert ann == {"subscriber": utc(NOW - 30 * H), "lead": utc(NOW - 30 * H), "mql": utc(NOW - 20 * H),
                   "sql": utc(NOW - 20 * H), "opportunity": utc(NOW - 5 * H), "customer": utc(NOW - 5 * H)}
    first = query(client, f"SELECT first_entered FROM {db}.person_lifecycle WHERE email = 'ann@acme.com'")[0][0]
    assert first == ann
    bob = query(client, f"SELECT position, stage FROM {db}.person_stages WHERE email = 'bob@beta.com' "
                        f"ORDER BY position")
    assert bob == [(1, "subscriber"), (2, "lead"), (3, "mql"), (4, "sql")]
    assert query(client, f"SELECT count() FROM {db}.person_stages WHERE email = 'cat@gamma.com'") == [(0,)]
    assert query(client, f"SELECT first_entered FROM {db}.person_lifecycle WHERE email = 'cat@gamma.com'") == [({},)]


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), timezone.utc)


def period_starts(today: date) -> dict[str, date]:
    quarter = date(today.year, 3 * ((today.month - 1) // 3) + 1, 1)
    return {"mtd": today.replace(day=1), "qtd": quarter, "ytd": date(today.year, 1, 1),
            "90d": today - timedelta(days=89), "365d": today - timedelta(days=364)}


def test_funnel_summary_at_period_edges_with_conversion_over_an_empty_base(engine):
    client, settings = engine
    db = settings.database
    starts = period_starts(TODAY)
    # For each period: `in-<p>` becomes a lead at noon of the period's first day, then jumps to sql a
    # minute ago (so it reached mql and sql today); `out-<p>` becomes a lead the day before and stays.
    items = []
    for p, start in starts.items():
        items.append(change(f"in-{p}@x.com", "lead", noon(start) if start < TODAY else NOW - 2 * H))
        items.append(change(f"in-{p}@x.com", "sql", NOW - timedelta(minutes=1)))
        items.append(change(f"out-{p}@x.com", "lead", noon(start - timedelta(days=1))))
    store(client, db, items)
    refresh_reports(client, db, only=("funnel_summary",))
    rows = query(client, f"SELECT period, position, stage, next_stage, reached, converted, conversion_rate "
                         f"FROM {db}.funnel_summary")
    assert len(rows) == 5 * 7  # 5 periods x the 7 stages of the order (`other` stands outside)
    got = {(r[0], r[2]): r for r in rows}
    for p, start in starts.items():
        # by hand: the leads in the period are the in-q whose start is on or after this one, and the
        # out-q whose day before is; every in-q converted (it reached mql), no out-q did
        ins = sum(1 for s in starts.values() if s >= start)
        outs = sum(1 for s in starts.values() if s - timedelta(days=1) >= start)
        # a lead reached subscriber at the same moment, so all of them went on from subscriber to lead
        assert got[(p, "subscriber")][3:] == ("lead", ins + outs, ins + outs, 1)
        _, pos, _, nxt, reached, converted, rate = got[(p, "lead")]
        assert (pos, nxt, reached, converted) == (2, "mql", ins + outs, ins), p
        assert str(rate) == f"{ins / (ins + outs):.4f}"
        assert got[(p, "mql")][4:] == (5, 5, 1)           # all five in-q reached mql and sql today
        assert str(got[(p, "sql")][6]) == "0.0000"         # none went on to opportunity
        assert got[(p, "sql")][4:6] == (5, 0)
        assert got[(p, "opportunity")][4:] == (0, 0, None)  # empty base: no rate
        assert got[(p, "evangelist")][3:] == ("", 0, None, None)  # the last stage has no next step


def register(client, db, *accounts: tuple[str, str, bool]) -> None:
    records = [AccountRecord(account_id=a, name=n, domains=(), ip_ranges=(), tier="", is_target=t, committee_size=None,
                             owner="") for a, n, t in accounts]
    client.insert(f"{db}.accounts", [[getattr(r, c) for c in ACCOUNT_COLUMNS] + [NOW] for r in records],
                  column_names=ACCOUNT_COLUMNS + ("updated_at",))


def test_account_sales_status_is_the_latest_decision(engine):
    client, settings = engine
    db = settings.database
    register(client, db, ("acme", "Acme", True))
    items = [  # arrival order: the newest first
        status("acme", "not_interested", NOW - 1 * H, reason="budget frozen", owner="rita"),
        status("acme", "accepted", NOW - 9 * H, owner="rita"),
        status("acme", "rejected", NOW - 5 * H, reason="too small"),
        status("ghost", "accepted", NOW - 2 * H, event_id="00000000-0000-4000-8000-00000000000f"),
        status("ghost", "reopened", NOW - 2 * H, event_id="00000000-0000-4000-8000-0000000000f0"),
    ]
    assert store(client, db, items + items[:2]) == (5, 2, 0)
    rows = query(client, f"SELECT account_id, account_name, is_target, status, reason, owner, status_at, decisions "
                         f"FROM {db}.account_sales_status ORDER BY account_id")
    assert rows == [("acme", "Acme", 1, "not_interested", "budget frozen", "rita", utc(NOW - 1 * H), 3),
                    ("ghost", "", 0, "reopened", "", "", utc(NOW - 2 * H), 2)]


def test_views_equal_the_python_rules_under_any_arrival_order(engine):
    """Generated histories (ties on the minute, moves back, `other`, duplicates), stored shuffled in
    several chunks: person_lifecycle and person_stages equal streams/core/lifecycle.py."""
    client, settings = engine
    db = settings.database
    rng = random.Random(16)
    items = [change(f"p{rng.randrange(40)}@x.com", rng.choice(STAGES), NOW - timedelta(minutes=rng.randrange(600)),
                    event_id=str(uuid.UUID(int=rng.getrandbits(128)))) for _ in range(400)]
    items += rng.sample(items, 40)  # re-sent
    rng.shuffle(items)
    for start in range(0, len(items), 97):
        store(client, db, items[start:start + 97])
    rows = [LifecycleRow.of(validate(i, now=NOW, max_age=AGE, stages=STAGES).event, NOW) for i in items]
    current = {email: row.stage for email, row in current_stages(rows).items()}
    refresh_reports(client, db, only=("person_lifecycle",))
    assert dict(query(client, f"SELECT email, stage FROM {db}.person_lifecycle")) == current
    expected = {(email, stage, utc(at)) for email, stages in first_entered(rows, funnel_order(STAGES)).items()
                for stage, at in stages.items()}
    assert set(query(client, f"SELECT email, stage, entered_at FROM {db}.person_stages")) == expected
