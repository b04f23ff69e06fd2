"""The sales views read a kept copy of the sales touches (0026_sales_touch_latest.sql): the same rows as the
previous view, each sales touch's latest version taken from every version in touches, whatever happens to the
touches: re-attribution (a version moving a touch to another account or person), a batch delivered twice,
merges, and erasure of a person (their sales touches leave every sales view, another person's stay)."""
from __future__ import annotations

import random
from datetime import timedelta

import msgspec
import pytest

from schemas.registry import AccountRecord
from sinks.erasure import ErasureStore
from sinks.reports import refresh_reports
from sinks.writer import ClickHouseWriter
from tests.integration.sinks.test_sales_activity_views import (NOW, D, H, call, email_in, email_out, meeting,
                                                             register)

# The previous sales_touches (before 0026): argMax over every version of the sales touches in touches.
REFERENCE = """
SELECT t.event_id AS event_id, argMax(t.occurred_at, t.version) AS occurred_at, argMax(t.day, t.version) AS day,
       argMax(t.account_id, t.version) AS account_id, argMax(t.email, t.version) AS email, any(t.type) AS type,
       argMax(t.rep, t.version) AS rep, argMax(t.outcome, t.version) AS outcome,
       argMax(t.direction, t.version) AS direction
FROM (SELECT event_id, version, occurred_at, day, account_id, email, type, rep, outcome, direction
      FROM {db}.touches WHERE type IN ('call', 'meeting', 'sales_email')) AS t
GROUP BY t.event_id
"""
COLUMNS = "event_id, occurred_at, day, account_id, email, type, rep, outcome, direction"
DAILY = ("SELECT day, rep, account_id, calls, connected_calls, conversations, meetings_booked, meetings_held, "
         "emails_out, emails_in, attempts FROM {db}.sales_activity_daily ORDER BY day, rep, account_id")
REFERENCE_DAILY = """
SELECT day, rep, account_id, countIf(type = 'call'),
       countIf(type = 'call' AND outcome IN ('connected', 'conversation', 'meeting_booked')),
       countIf(type = 'call' AND outcome IN ('conversation', 'meeting_booked')), countIf(outcome = 'meeting_booked'),
       countIf(type = 'meeting'), countIf(type = 'sales_email' AND direction = 'outbound'),
       countIf(type = 'sales_email' AND direction = 'inbound'),
       countIf(type IN ('call', 'meeting') OR direction = 'outbound' AND type = 'sales_email')
FROM ({reference}) GROUP BY day, rep, account_id ORDER BY day, rep, account_id
"""
PEOPLE = [f"p{i}@x.co" for i in range(12)]
ACCOUNTS = ["acme", "globex", "initech", ""]


def random_touches(rng: random.Random, n: int) -> list:
    """Sales touches of the last 390 days: inside the 13 months' retention, since `touches` and the kept copy
    drop an expired row each at its own merge, and two reads in between would differ."""
    makers = [lambda at, e, a, r: call(at, e, a, r, rng.choice(["no_answer", "connected", "conversation",
                                                                  "meeting_booked"])),
              email_out, email_in, meeting]
    return [rng.choice(makers)(NOW - rng.randrange(0, 390) * D - rng.randrange(0, 24) * H,
                               rng.choice(PEOPLE + [""]), rng.choice(ACCOUNTS), rng.choice(["ana", "bo", ""]))
            for _ in range(n)]


def moved(row, account: str, person: str):
    """A re-attribution version of a stored touch, as streams/core/score.py rescore writes it."""
    return msgspec.structs.replace(row, account_id=account, person=person, retracts=1,
                                   prev_account_id=row.account_id, prev_person=row.person)


@pytest.fixture
def store(engine):
    """The engine's client, database and a started writer on it."""
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w-kept")
    writer.start()
    return client, settings.database, writer


def check(client, db) -> None:
    kept = client.query(f"SELECT {COLUMNS} FROM {db}.sales_touches ORDER BY event_id").result_rows
    reference = client.query(f"SELECT {COLUMNS} FROM ({REFERENCE.format(db=db)}) ORDER BY event_id").result_rows
    assert kept == reference
    refresh_reports(client, db, only=("sales_activity_daily",))
    assert client.query(DAILY.format(db=db)).result_rows == client.query(
        REFERENCE_DAILY.format(reference=REFERENCE.format(db=db))).result_rows


def test_kept_sales_touches_equal_every_version_read_whole(store):
    client, db, writer = store
    rng = random.Random(16)
    rows = random_touches(rng, 300)
    for start in range(0, len(rows), 50):
        writer.write(rows[start:start + 50])
    writer.write(rows[:120])  # delivered again: duplicates, nothing stored
    for _ in range(3):  # rounds of re-attribution: each a new version of some touches (a higher batch_seq)
        current = {r.event_id: r for r in writer.stored("type IN ('call', 'meeting', 'sales_email')")}
        chosen = rng.sample(sorted(current), 60)
        writer.replace([moved(current[i], rng.choice(ACCOUNTS), current[i].person) for i in chosen])
        check(client, db)
    assert client.query(f"SELECT uniqExact(account_id) FROM {db}.sales_touches").result_rows[0][0] == 4
    client.command(f"OPTIMIZE TABLE {db}.sales_touch_latest FINAL")
    client.command(f"OPTIMIZE TABLE {db}.touches FINAL")
    check(client, db)


def test_erasure_takes_a_persons_sales_touches_out_of_the_kept_copy(store):
    client, db, writer = store
    ana = [call(NOW - H, "ana@x.co", "acme", "rita", "conversation"), email_in(NOW - 2 * H, "ana@x.co", "acme", "rita"),
           meeting(NOW - D, "ana@x.co", "acme", "sam")]
    bo = [call(NOW - H, "bo@x.co", "acme", "rita", "connected"), email_out(NOW - 3 * H, "bo@x.co", "", "sam")]
    writer.write(ana + bo)
    # ana's meeting re-attributed to globex: the older version, naming acme, is in the kept copy too
    writer.replace([moved(ana[2], "globex", "ana@x.co")])
    assert client.query(f"SELECT count() FROM {db}.sales_touch_latest WHERE email = 'ana@x.co'").result_rows == [(4,)]
    erasure = ErasureStore(client, db)
    emails, cookies = erasure.linked({"ana@x.co"}, set())
    assert erasure.erase(emails, cookies, []).counts["touches"] == 3
    assert client.query(f"SELECT count() FROM {db}.sales_touch_latest WHERE email = 'ana@x.co' OR person = 'ana@x.co'"
                        ).result_rows == [(0,)]
    refresh_reports(client, db, only=("sales_activity_daily",))
    assert client.query(f"SELECT rep, account_id, calls, connected_calls, emails_out, emails_in, meetings_held "
                        f"FROM {db}.sales_activity_daily ORDER BY rep").result_rows == [
        ("rita", "acme", 1, 1, 0, 0, 0), ("sam", "", 0, 0, 1, 0, 0)]
    check(client, db)
    assert erasure.erase(emails, cookies, []).counts["touches"] == 0  # again: nothing more
    check(client, db)


def test_a_version_moves_a_sales_touch_between_accounts_in_every_view(store):
    client, db, writer = store
    first = call(NOW - timedelta(minutes=5), "cy@x.co", "acme", "rita", "meeting_booked")
    writer.write([first])
    writer.replace([moved(first, "globex", "cy@x.co")])
    refresh_reports(client, db, only=("sales_activity_daily",))
    assert client.query(f"SELECT account_id, calls, meetings_booked FROM {db}.sales_activity_daily").result_rows == [
        ("globex", 1, 1)]
    register(client, db, AccountRecord(account_id="acme", owner="olga"), AccountRecord(account_id="globex", owner="olga"))
    refresh_reports(client, db, only=("sales_coverage", "sales_activity_summary"))
    assert client.query(f"SELECT account_id, covered, reason FROM {db}.sales_coverage ORDER BY account_id"
                        ).result_rows == [("acme", 0, "no_contact_known"), ("globex", 1, "")]
    assert client.query(f"SELECT rep, calls, meetings_booked, target_attempts FROM {db}.sales_activity_summary "
                        f"WHERE period = '90d' ORDER BY rep").result_rows == [("all", 1, 1, 1), ("rita", 1, 1, 1)]
    check(client, db)


def summary_by_hand(touches: list[tuple], starts: dict, targets: set[str], today) -> dict:
    """sales_activity_summary's counts per (period, rep), by its definition, from the touches' latest versions."""
    out = {}
    for period, start in starts.items():
        out[(period, "all")] = [0] * 8
        for _, _, day, account, _, kind, rep, outcome, direction in touches:
            if not start <= day <= today:
                continue
            attempt = kind in ("call", "meeting") or (kind, direction) == ("sales_email", "outbound")
            counts = [kind == "call", kind == "call" and outcome in ("connected", "conversation", "meeting_booked"),
                      kind == "call" and outcome in ("conversation", "meeting_booked"),
                      kind == "call" and outcome == "meeting_booked", kind == "meeting",
                      (kind, direction) == ("sales_email", "outbound"), (kind, direction) == ("sales_email", "inbound"),
                      attempt and account in targets]
            for who in (rep, "all"):
                out[(period, who)] = [a + b for a, b in zip(out.setdefault((period, who), [0] * 8), counts)]
    return out


def coverage_by_hand(touches: list[tuple], accounts: dict[str, str], today) -> dict:
    """sales_coverage's (covered, last_sales_activity_at, reason) per account, no contacts or lifecycle known."""
    out = {}
    for account, owner in accounts.items():
        mine = [t for t in touches if t[3] == account]
        past = [t for t in mine if t[2] <= today]
        covered = int(bool(past) and max(t[2] for t in past) > today - timedelta(days=30))
        known = any(t[4] for t in mine)
        reason = "" if covered else "no_contact_known" if not known else "no_owner" if not owner else "no_activity_30d"
        out[account] = (covered, max((t[1] for t in past), default=None), reason)
    return out


def test_summary_and_coverage_equal_their_definitions_on_random_touches(store):
    client, db, writer = store
    rng = random.Random(7)
    register(client, db, AccountRecord(account_id="acme", owner="olga"), AccountRecord(account_id="globex"),
             AccountRecord(account_id="initech", owner="olga", is_target=False), AccountRecord(account_id="hooli"),
             AccountRecord(account_id="umbrella", is_target=False))
    rows = random_touches(rng, 200) + [call(NOW + 2 * D, "p1@x.co", "hooli", "ana"),  # tomorrow's: in no period
                                       meeting(NOW - 40 * D, "", "globex", "bo"),
                                       # a known contact, no owner, nothing in 30 days, never moved: no_owner
                                       call(NOW - 40 * D, "u1@x.co", "umbrella", "ana")]
    writer.write(rows)
    current = {r.event_id: r for r in writer.stored("type IN ('call', 'meeting', 'sales_email')")
               if r.account_id != "umbrella"}
    writer.replace([moved(current[i], rng.choice(ACCOUNTS), current[i].person) for i in rng.sample(sorted(current), 50)])
    touches = client.query(f"SELECT {COLUMNS} FROM ({REFERENCE.format(db=db)})").result_rows
    today = client.query("SELECT today()").result_rows[0][0]
    starts = dict(client.query(f"SELECT period, start FROM {db}.reporting_periods").result_rows)
    refresh_reports(client, db, only=("sales_activity_summary", "sales_coverage"))
    got = {(r[0], r[1]): list(r[2:]) for r in client.query(
        f"SELECT period, rep, calls, connected_calls, conversations, meetings_booked, meetings_held, emails_out, "
        f"emails_in, target_attempts FROM {db}.sales_activity_summary").result_rows}
    assert got == summary_by_hand(touches, starts, {"acme", "globex", "hooli"}, today)
    coverage = {r[0]: tuple(r[1:]) for r in client.query(
        f"SELECT account_id, covered, last_sales_activity_at, reason FROM {db}.sales_coverage").result_rows}
    assert coverage == coverage_by_hand(touches, {"acme": "olga", "globex": "", "initech": "olga", "hooli": "",
                                                  "umbrella": ""}, today)
    assert {r[2] for r in coverage.values()} >= {"", "no_owner"}


def test_the_start_up_repair_brings_back_copies_a_crash_left_out(store):
    from sinks.store import Store
    from test_funnel_metrics import page_view

    client, db, writer = store
    rows = random_touches(random.Random(3), 40)
    writer.write(rows + [page_view("e1@x.co", 0), page_view("c1", -3, email=False)])
    writer.replace([moved(rows[0], "globex", rows[0].person)])
    # what a SIGKILL between the touches part and its views' parts leaves: touches without their copies
    for table in ("sales_touch_latest", "page_view_latest"):
        client.command(f"ALTER TABLE {db}.{table} DELETE WHERE 1", settings={"mutations_sync": 2})
    for _ in range(2):  # twice: the repair changes nothing more
        Store(client, db).repair_touch_copies("w-kept")
        check(client, db)
        assert client.query(f"SELECT count() FROM {db}.page_view_latest FINAL").result_rows == [(2,)]
