"""Erasure's pure part: which identifiers are accepted, the hash, whole-token matching in raw input, and
the filter that drops an erased person's events, dead letters and contact records."""
from __future__ import annotations

from datetime import datetime, timezone
from uuid import uuid4

import pytest

from schemas.events import Identify, PageView
from schemas.registry import ContactRecord
from schemas.rows import RejectedRow
from streams.core.erasure import ErasedSet, ErasureInputError, identifier_hash, mentions, normal

AT = datetime(2026, 11, 20, 10, tzinfo=timezone.utc)


@pytest.mark.parametrize("kind, raw, value", [
    ("email", " Ana@Acme.Example ", "ana@acme.example"),
    ("email", "x');DROP_TABLE_touches;--@acme.example", "x');drop_table_touches;--@acme.example"),  # only text
    ("anonymous_id", " c-ABC-1 ", "c-ABC-1"),  # a cookie keeps its case
    ("anonymous_id", "a" * 128, "a" * 128),
    ("anonymous_id", "c-1\n", "c-1"),  # a trailing newline is trimmed, not refused (a file's line end)
])
def test_accepted(kind, raw, value):
    assert normal(kind, raw) == value


@pytest.mark.parametrize("kind, raw, reason", [
    ("email", "", "empty email"),
    ("email", "   ", "empty email"),
    ("email", "x' OR 1=1 --@acme.example", "not an email address"),
    ("email", "no-at-sign.example", "not an email address"),
    ("email", "a" * 10_000 + "@acme.example", "of 10,013 characters"),
    ("email", "a@b\x00.example", "control characters"),
    ("anonymous_id", "", "empty anonymous id"),
    ("anonymous_id", "c" * 129, "of 129 characters"),
    ("phone", "123", "unknown kind"),
])
def test_refused(kind, raw, reason):
    with pytest.raises(ErasureInputError, match=reason):
        normal(kind, raw)


def test_the_hash_is_salted_by_install_and_kind_and_never_the_identifier():
    h = identifier_hash("pulse", "email", "ana@acme.example")
    assert len(h) == 64 and "ana" not in h
    assert h == identifier_hash("pulse", "email", "ana@acme.example")
    assert h != identifier_hash("other_install", "email", "ana@acme.example")
    assert h != identifier_hash("pulse", "anonymous_id", "ana@acme.example")


@pytest.mark.parametrize("payload, carries", [
    ('[{"email": "ANA@acme.example"}]', True),
    ("ana@acme.example,Ana,vp", True),                 # a CSV row of an import
    ('{"email": "xana@acme.example"}', False),         # another address that ends the same
    ('{"email": "ana@acme.example.org"}', False),      # another domain that starts the same
    ('{"anonymous_id": "c-1"}', True),
    ('{"anonymous_id": "c-10"}', False),
    ('{"anonymous_id": "C-1"}', False),                # cookies are case-sensitive
])
def test_mentions_matches_whole_tokens(payload, carries):
    assert mentions(payload, {"ana@acme.example"}, {"c-1"}) is carries


def erased(*pairs) -> ErasedSet:
    return ErasedSet("db", {identifier_hash("db", kind, value) for kind, value in pairs})


def test_keep_drops_events_of_erased_people_and_counts_them():
    gone = erased(("email", "ana@acme.example"), ("anonymous_id", "c-ana"))
    events = [PageView(event_id=uuid4(), occurred_at=AT, url="https://x/", email="Ana@acme.example"),
              PageView(event_id=uuid4(), occurred_at=AT, url="https://x/", anonymous_id="c-ana"),
              Identify(event_id=uuid4(), occurred_at=AT, anonymous_id="c-new", email="ana@acme.example"),
              PageView(event_id=uuid4(), occurred_at=AT, url="https://x/", email="bob@acme.example",
                       anonymous_id="c-bob")]
    assert gone.keep(events) == events[3:]
    assert sum(gone.take_dropped().values()) == 3
    assert not gone.dropped


def test_an_empty_set_keeps_everything_without_hashing():
    events = [PageView(event_id=uuid4(), occurred_at=AT, url="https://x/", email="ana@acme.example")]
    assert ErasedSet("db").keep(events) is events


def test_dead_letters_and_contacts_of_erased_people_are_dropped():
    gone = erased(("email", "ana@acme.example"), ("anonymous_id", "c-ana"))
    rows = [RejectedRow(AT, "worker", "[]", 'name,ANA@acme.example,vp', "k1"),
            RejectedRow(AT, "worker", "[]", '[{"anonymous_id": "c-ana", "url": 3}]', "k2"),
            RejectedRow(AT, "worker", "[]", '{"email": "bob@acme.example"', "k3"),  # not JSON: still read
            RejectedRow(AT, "worker", "[]", "\x00\xff garbage", "k4")]
    assert [r.dlq_key for r in gone.keep_rejected(rows)] == ["k3", "k4"]
    contacts = [ContactRecord(email="ana@acme.example"), ContactRecord(email="bob@acme.example")]
    assert gone.keep_contacts(contacts) == contacts[1:]
    assert {source for _, source in gone.dropped} == {"deadletter", "registry"}


def test_a_person_seen_before_is_dropped_once_erased(monkeypatch):
    monkeypatch.setattr("streams.core.erasure._REMEMBER", 2)  # and the remembered answers overflow
    gone = erased(("email", "old@acme.example"))
    people = [PageView(event_id=uuid4(), occurred_at=AT, url="https://x/", email=f"p{i}@acme.example")
              for i in range(5)]
    assert gone.keep(people) == people and gone.keep(people) == people
    gone.add([identifier_hash("db", "email", "p3@acme.example")])
    assert gone.keep(people) == people[:3] + people[4:]
    assert gone.keep(people) == people[:3] + people[4:]
