"""The registry's contacts as a worker loads them at start: in pages by email, each contact once, at its latest."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from schemas.registry import CONTACT_COLUMNS, ContactRecord
from sinks import store as store_module
from sinks.store import Store


def contact(n: int, title: str = "VP Marketing") -> ContactRecord:
    return ContactRecord(email=f"p{n:02d}@acme.example", account_id="acme", name=f"Person {n}", title=title,
                         role="vp")


@pytest.mark.parametrize("page_rows", [3, 5, 100])
def test_every_contact_comes_once_at_its_latest_version_whatever_the_page_size(engine, monkeypatch, page_rows):
    client, settings = engine
    store = Store(client, settings.database)
    at = datetime(2026, 12, 1, tzinfo=timezone.utc)
    # 10 people, one of them with quotes and a backslash in the email: the page boundary is bound, not spliced
    first = [contact(n) for n in range(9)] + [ContactRecord(email="o'brien\\x@acme.example", account_id="acme")]
    store.store_records("contacts", CONTACT_COLUMNS, first, at)
    newer = [contact(2, "CMO"), contact(7, "CFO")]
    store.store_records("contacts", CONTACT_COLUMNS, newer, at + timedelta(minutes=1))
    monkeypatch.setattr(store_module, "CONTACTS_PAGE_ROWS", page_rows)

    loaded = list(store.contacts())

    assert [c.email for c in loaded] == sorted(c.email for c in first)   # each once, in email order
    by_email = {c.email: c for c in loaded}
    assert by_email["p02@acme.example"].title == "CMO" and by_email["p07@acme.example"].title == "CFO"
    assert by_email["p03@acme.example"] == contact(3)
    assert by_email["o'brien\\x@acme.example"] == first[-1]


def test_an_empty_registry_loads_no_contact(engine):
    client, settings = engine
    assert list(Store(client, settings.database).contacts()) == []
