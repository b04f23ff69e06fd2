"""Identity stitching and re-scoring, pure: the latest identify wins, earlier and later touches follow it."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas.events import Identify, PageView
from schemas.registry import AccountRecord, ContactRecord
from sinks.fold import fold
from streams.core.registry import Registry
from streams.core.score import Identities, Scoring, rescore, score
from streams.core.weights import Weights

UTC = ZoneInfo("UTC")
T0 = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)


def registry() -> Registry:
    r = Registry()
    r.upsert_account(AccountRecord(account_id="acme", domains=("acme.example",), ip_ranges=("10.0.0.0/8",)))
    r.upsert_account(AccountRecord(account_id="globex", domains=("globex.example",)))
    r.upsert_contact(ContactRecord(email="cfo@globex.example", account_id="globex", role="c_level"))
    return r


def visit(n: int, **ids) -> PageView:
    return PageView(event_id=uuid.UUID(f"00000000-0000-0000-0000-{n:012d}"), occurred_at=T0 + timedelta(minutes=n),
                    url="https://x", **ids)


def identify(n: int, cookie: str, email: str, minutes: int) -> Identify:
    return Identify(event_id=uuid.UUID(f"00000000-0000-0000-0001-{n:012d}"), occurred_at=T0 + timedelta(minutes=minutes),
                    anonymous_id=cookie, email=email)


def test_latest_identify_wins_whatever_the_arrival_order():
    ids = Identities()
    assert ids.learn([identify(1, "c1", "late@x.example", 50), identify(2, "c1", "early@x.example", 10)]) == {"c1"}
    assert ids.email_for("c1") == "late@x.example"
    assert ids.learn([identify(3, "c1", "late@x.example", 60)]) == set()  # same person again: nothing changes


def test_later_touches_of_an_identified_cookie_count_for_the_person():
    ids = Identities()
    ids.learn([identify(1, "cookie", "cfo@globex.example", 0)])
    (row,) = score([visit(5, anonymous_id="cookie", ip="10.1.1.1")], Scoring(registry(), Weights(), UTC, ids), T0)
    assert (row.account_id, row.person, row.method, row.minutes) == ("globex", "cfo@globex.example", "stitched",
                                                                     Decimal("2.00"))


def test_earlier_touches_are_rescored_with_a_retraction():
    reg, w = registry(), Weights()
    (before,) = score([visit(1, anonymous_id="cookie", ip="10.1.1.1")], Scoring(reg, w, UTC), T0)
    assert (before.account_id, before.person, before.method, before.ip) == ("acme", "cookie", "ip", "10.1.1.0")
    ids = Identities()
    ids.learn([identify(2, "cookie", "cfo@globex.example", 30)])
    after = rescore(before, Scoring(reg, w, UTC, ids))
    assert (after.account_id, after.person, after.minutes) == ("globex", "cfo@globex.example", Decimal("2.00"))
    assert (after.retracts, after.prev_account_id, after.prev_person, after.prev_minutes) == \
           (1, "acme", "cookie", Decimal("1.00"))
    deltas = fold([before, after])
    assert ("acme", before.day, "web", "", "cookie") not in deltas  # added then taken back: cancels out
    assert deltas[("globex", before.day, "web", "", "cfo@globex.example")][:2] == [Decimal("2.00"), 1]
    assert rescore(after, Scoring(reg, w, UTC, ids)) is None  # nothing changed: no new version


def test_rescore_after_new_weights_changes_only_the_minutes():
    reg = registry()
    (row,) = score([visit(1, email="ana@acme.example")], Scoring(reg, Weights(), UTC), T0)
    heavier = Weights(page_view=Decimal(2))
    new = rescore(row, Scoring(reg, heavier, UTC))
    assert (new.account_id, new.minutes, new.prev_minutes) == ("acme", Decimal("2.00"), Decimal("1.00"))


def test_stored_payload_keeps_no_full_ip():
    (row,) = score([visit(1, anonymous_id="c", ip="10.9.8.7")], Scoring(registry(), Weights(), UTC), T0)
    assert "10.9.8.7" not in row.payload and "10.9.8.0" in row.payload and row.ip == "10.9.8.0"
    (full,) = score([visit(1, anonymous_id="c", ip="10.9.8.7")], Scoring(registry(), Weights(), UTC, full_ips=True), T0)
    assert full.ip == "10.9.8.7" and "10.9.8.7" in full.payload


def test_links_from_clickhouse_come_without_a_zone_and_still_compare():
    ids = Identities()
    ids.learn_links([("c1", "old@x.example", datetime(2026, 11, 20, 9))])  # naive, as ClickHouse returns it
    assert ids.learn([identify(1, "c1", "new@x.example", 30)]) == {"c1"}
    assert ids.learn_links([("c1", "older@x.example", datetime(2026, 11, 20, 8))]) == set()
    assert ids.email_for("c1") == "new@x.example"
