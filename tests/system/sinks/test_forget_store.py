"""Erasure in the store (sinks/erasure.py) on the real engine: exact totals, other people untouched, the
identity graph followed, dead letters matched as whole tokens, and a second run deleting nothing."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from msgspec.structs import replace

from schemas.rows import RejectedRow, TouchRow
from sinks.erasure import ANSWERS, ErasureStore, Logged
from sinks.writer import ClickHouseWriter
from streams.core.erasure import mentions

# today's: the stage tick keeps the last days' person-days apart too (person_days_recent)
AT = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)


def touch(account: str, person: str, minutes: str, email: str = "", cookie: str = "") -> TouchRow:
    return TouchRow(uuid.uuid4(), "page_view", AT, AT, AT.date(), account, person, "domain", "web", "",
                    Decimal(minutes), Decimal(minutes), 0, email, cookie, "", "https://x", "{}")


def stitched(row: TouchRow, person: str) -> TouchRow:
    """The version an identify writes: the cookie's touch now counts for `person`."""
    return replace(row, person=person, retracts=1, prev_account_id=row.account_id, prev_person=row.person,
                   prev_minutes=row.minutes, prev_base_minutes=row.base_minutes)


def totals(client, db) -> dict[str, tuple]:
    """account -> (minutes, touches, people with minutes)"""
    return {a: (m, t, p) for a, m, t, p in client.query(
        f"SELECT account_id, sum(m), sum(t), countIf(m != 0 AND person != '') FROM "
        f"(SELECT account_id, person, sum(minutes) AS m, sum(touches) AS t FROM {db}.engagement_daily "
        f" WHERE kind = 'touch' GROUP BY account_id, person) GROUP BY account_id").result_rows}


def started(engine) -> tuple:
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w1")
    writer.start()
    return client, settings.database, writer


def stage_evaluator_told(store: ErasureStore, before: datetime, stamped: dict[str, int]) -> None:
    """The stage evaluator's rollups are told which account-days changed, and which people (hashed: no
    email is kept there), as an insert would tell them: a deletion fires no view."""
    client, db = store.client, store.db
    if store._exists("engagement_changes"):
        marked = client.query(f"SELECT DISTINCT account_id, day FROM {db}.engagement_changes "
                              f"WHERE scope = 'account' AND changed_at >= %(t)s ORDER BY account_id",
                              parameters={"t": before}).result_rows
        assert marked == [("acme", AT.date()), ("globex", AT.date())]
    if store._exists("person_day_changes"):
        assert set(stamped) == {"acme", "globex"}
        assert stamps_of_ana(client, db) == {a: n + 1 for a, n in stamped.items()}


def stamps_of_ana(client, db: str) -> dict[str, int]:
    """How often each account's stage tick was told ana's hashed key changed (person_day_changes)."""
    return dict(client.query(f"SELECT account_id, count() FROM {db}.person_day_changes WHERE person_key = "
                             f"reinterpretAsUInt128(sipHash128('ana@acme.example')) GROUP BY account_id").result_rows)


def test_erasing_a_person_takes_exactly_their_rows(engine):
    client, db, writer = started(engine)
    ana_cookie = touch("acme", "c-ana", "0.50", cookie="c-ana")
    writer.write([
        touch("acme", "ana@acme.example", "1.50", email="ana@acme.example"),
        touch("globex", "ana@acme.example", "2.00", email="ana@acme.example"),  # a touch at another account
        ana_cookie,
        touch("acme", "bob@acme.example", "3.00", email="bob@acme.example"),
        touch("acme", "", "0.25"),                          # an IP-only touch: no person
        touch("acme", "c-other", "0.75", cookie="c-other"),  # somebody's cookie, never identified
    ])
    writer.write([], [stitched(ana_cookie, "ana@acme.example")])
    client.insert(f"{db}.identities", [["c-ana", "ana@acme.example", AT]],
                  column_names=("anonymous_id", "email", "identified_at"))
    client.insert(f"{db}.contacts", [["ana@acme.example", "acme", AT], ["bob@acme.example", "acme", AT]],
                  column_names=("email", "account_id", "updated_at"))
    client.insert(f"{db}.lifecycle_changes", [[uuid.uuid4(), "ana@acme.example", "acme", "mql", AT, AT],
                                              [uuid.uuid4(), "bob@acme.example", "acme", "lead", AT, AT]],
                  column_names=("event_id", "email", "account_id", "stage", "occurred_at", "received_at"))
    writer.write_rejected([
        RejectedRow(AT, "worker", "[]", '[{"email": "ANA@acme.example", "occurred_at": "x"}]', "k1"),
        RejectedRow(AT, "worker", "[]", '[{"anonymous_id": "c-ana", "url": 1}]', "k2"),
        RejectedRow(AT, "worker", "[]", '[{"email": "xana@acme.example"}]', "k3"),   # another person
        RejectedRow(AT, "worker", "[]", '[{"anonymous_id": "c-ana-2"}]', "k4"),      # another cookie
    ])
    # what the totals are without ana: computed from the other people's touches only
    without_ana = {"acme": (Decimal("4.00"), 3, 2)}

    store = ErasureStore(client, db)
    emails, cookies = store.linked({"ana@acme.example"}, set())
    assert (emails, cookies) == ({"ana@acme.example"}, {"c-ana"})
    needles = sorted(emails | cookies)
    keys = [k for k, payload in store.rejected_candidates(needles) if mentions(payload, emails, cookies)]
    assert sorted(keys) == ["k1", "k2"]
    before = datetime.now(timezone.utc)
    stamped = stamps_of_ana(client, db) if store._exists("person_day_changes") else {}
    recent = store._exists("person_days_recent")
    assert not recent or client.query(f"SELECT count() FROM {db}.person_days_recent WHERE person = "
                                      "'ana@acme.example'").result_rows[0][0] > 0
    inputs = f"SELECT uniqExact(event_id) FROM {db}.traffic_inputs WHERE key IN ('ana@acme.example', 'c-ana')"
    assert client.query(inputs).result_rows[0][0] == 1  # her cookie's view, by the cookie (the rules' inputs)
    ids = f"SELECT event_id FROM {db}.touch_ids ORDER BY event_id"
    ana_ids = {r[0] for r in client.query(f"SELECT event_id FROM {db}.touches WHERE person IN "
                                          "('ana@acme.example', 'c-ana')").result_rows}
    assert len(ana_ids) == 3 and ana_ids < {r[0] for r in client.query(ids).result_rows}
    done = store.erase(emails, cookies, keys)

    assert client.query(inputs).result_rows[0][0] == 0
    # the duplicate check's ids (0052): those of her touches go, the others' stay
    assert client.query(ids).result_rows == client.query(
        f"SELECT DISTINCT event_id FROM {db}.touches ORDER BY event_id").result_rows
    assert not ana_ids & {r[0] for r in client.query(ids).result_rows}
    stage_evaluator_told(store, before, stamped)
    assert {**done.counts, "engagement_rows": 0} == {  # engagement rows: as many as the parts hold
        "touches": 3, "identity_links": 1, "contacts": 1, "lifecycle_changes": 1, "rejected_events": 2,
        "engagement_rows": 0}
    assert done.minutes == Decimal("4.00")
    assert totals(client, db) == without_ana  # globex's only person was ana
    for table, column in (("touches", "person"), ("account_touches", "person"), ("anonymous_touches", "person"),
                          ("engagement_daily", "person"), ("person_days", "person"),
                          *([("person_days_recent", "person")] if recent else [])):
        left = client.query(f"SELECT count() FROM {db}.{table} WHERE {column} IN ('ana@acme.example', 'c-ana')")
        assert left.result_rows[0][0] == 0, table
    assert client.query(f"SELECT email FROM {db}.contacts").result_rows == [("bob@acme.example",)]
    assert client.query(f"SELECT email FROM {db}.lifecycle_changes").result_rows == [("bob@acme.example",)]
    if store._exists("contact_keys"):  # the stage tick's hashed contacts (0043): ana no longer confirmed
        assert client.query(f"SELECT person_key FROM {db}.contact_keys").result_rows == client.query(
            "SELECT reinterpretAsUInt128(sipHash128('bob@acme.example'))").result_rows
    if store._exists("funnel_people"):  # the funnel's per-person table, kept by a view from lifecycle_changes
        assert client.query(f"SELECT DISTINCT email FROM {db}.funnel_people").result_rows == [("bob@acme.example",)]
    assert sorted(r[0] for r in client.query(f"SELECT dlq_key FROM {db}.rejected_events").result_rows) == ["k3", "k4"]

    again = store.erase(emails, cookies, [])
    assert again.rows == 0 and again.minutes == 0
    assert totals(client, db)["acme"] == without_ana["acme"]


def test_a_cookie_identified_again_as_someone_else_stays_theirs(engine):
    client, db, writer = started(engine)
    visit = touch("acme", "c-1", "1.00", cookie="c-1")
    writer.write([visit])
    first = stitched(visit, "ana@acme.example")
    writer.write([], [first])
    writer.write([], [stitched(replace(first, retracts=0), "eve@acme.example")])
    client.insert(f"{db}.identities", [["c-1", "ana@acme.example", AT],
                                       ["c-1", "eve@acme.example", AT + timedelta(days=1)]],
                  column_names=("anonymous_id", "email", "identified_at"))
    store = ErasureStore(client, db)
    emails, cookies = store.linked({"ana@acme.example"}, set())
    assert (emails, cookies) == ({"ana@acme.example"}, set())  # the cookie is eve's now
    done = store.erase(emails, cookies, [])
    assert done.counts["touches"] == 0
    assert totals(client, db) == {"acme": (Decimal("1.00"), 1, 1)}
    assert client.query(f"SELECT count() FROM {db}.touches WHERE person = 'ana@acme.example' "
                        f"OR prev_person = 'ana@acme.example'").result_rows[0][0] == 0
    assert client.query(f"SELECT email FROM {db}.identities").result_rows == [("eve@acme.example",)]


def test_a_persons_program_successes_go_with_them(engine):
    """Attribution's kept touchpoints (program_successes, migration 0020) lose the erased person's
    touches and keep everyone else's."""
    client, db, writer = started(engine)

    def opened(person: str) -> TouchRow:
        return replace(touch("acme", person, "1.00", email=person), type="email_open", channel="email",
                       program_id="nov", success=1)

    ana, bob = opened("ana@acme.example"), opened("bob@acme.example")
    writer.write([ana, bob])

    def kept() -> list:
        return sorted(r[0] for r in client.query(
            f"SELECT event_id FROM {db}.program_successes FINAL WHERE NOT is_deleted").result_rows)

    assert kept() == sorted([ana.event_id, bob.event_id])
    store = ErasureStore(client, db)
    store.erase(*store.linked({"ana@acme.example"}, set()), [])
    assert kept() == [bob.event_id]


def test_two_workers_of_one_store_answer_with_what_was_erased(engine):
    """Two workers take the same request on one store. The second can find nothing, the first having
    begun deleting; its answer must not stand for the request while the first is still at it, nor after."""
    client, db, writer = started(engine)
    writer.write([touch("acme", "ana@acme.example", "1.50", email="ana@acme.example"),
                  touch("acme", "ana@acme.example", "0.50", email="ana@acme.example")])
    store = ErasureStore(client, db)
    people = store.linked({"ana@acme.example"}, set())
    request = Logged("r1", AT, "h-ana", {"h-ana": "email"})

    def answers() -> list[tuple]:
        rows = client.query(ANSWERS.format(db=db), parameters={"ids": ["r1"]}).result_rows
        return [(r[0], r[1], r[7]) for r in rows]  # request, touches, minutes

    first = store.announce(request, *people, [])   # counts 2 touches, logs them under way
    store.erase(*people, [])
    second = store.announce(request, *people, [])  # finds nothing left: the first's count stays
    store.erase(*people, [])
    store.log(second)
    assert answers() == [("r1", 2, Decimal("2.00"))]  # the second's rows carry what the first found, not 0
    store.log(first)
    assert answers() == [("r1", 2, Decimal("2.00"))]

    alone = Logged("r2", AT, "h-bob", {"h-bob": "email"})
    store.announce(alone, {"bob@acme.example"}, set(), [])  # a worker that stopped before deleting
    under_way = client.query(ANSWERS.format(db=db), parameters={"ids": ["r2"]}).result_rows
    assert under_way == []  # no answer until the rows are gone
