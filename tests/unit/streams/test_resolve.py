"""Resolution order, free-mail, IP longest prefix: table-driven."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from schemas.events import PageView
from schemas.registry import AccountRecord, ContactRecord
from streams.core.registry import Registry
from streams.core.resolve import Resolved, Unresolved, resolve

AT = datetime(2026, 11, 20, tzinfo=timezone.utc)
ID = "00000000-0000-0000-0000-000000000001"


@pytest.fixture(scope="module")
def registry() -> Registry:
    r = Registry()
    r.upsert_account(AccountRecord(account_id="acme", domains=("acme.example",), ip_ranges=("10.1.0.0/16",)))
    r.upsert_account(AccountRecord(account_id="acme-lab", ip_ranges=("10.1.2.0/24", "2001:db8::/32")))
    r.upsert_account(AccountRecord(account_id="globex", domains=("globex.example",)))
    r.upsert_contact(ContactRecord(email="cfo@elsewhere.example", account_id="globex", role="c_level"))
    r.upsert_contact(ContactRecord(email="vp@acme.example", account_id="acme", role="vp"))
    return r


def pv(**ids) -> PageView:
    return PageView(event_id=ID, occurred_at=AT, url="https://x", **ids)


@pytest.mark.parametrize(
    "event, account, method, person, role",
    [
        (pv(account_id="globex", email="vp@acme.example"), "globex", "account_id", "vp@acme.example", "vp"),
        (pv(email="cfo@elsewhere.example"), "globex", "contact", "cfo@elsewhere.example", "c_level"),
        (pv(email="new@acme.example"), "acme", "domain", "new@acme.example", "unknown"),
        (pv(email="new@mail.acme.example"), "acme", "domain", "new@mail.acme.example", "unknown"),
        (pv(anonymous_id="cookie-1", ip="10.1.9.9"), "acme", "ip", "cookie-1", "unknown"),
        (pv(ip="10.1.2.3"), "acme-lab", "ip", "", "unknown"),          # longest prefix wins
        (pv(ip="2001:db8::1"), "acme-lab", "ip", "", "unknown"),       # IPv6
        (pv(email="x@gmail.com", ip="10.1.9.9"), "acme", "ip", "x@gmail.com", "unknown"),  # free-mail skipped
    ],
)
def test_resolution_order(registry, event, account, method, person, role):
    assert resolve(event, registry) == Resolved(account, person, method, role)


@pytest.mark.parametrize("event", [pv(email="x@gmail.com"), pv(ip="192.0.2.1"), pv(account_id="nope"),
                                   pv(anonymous_id="c", ip="not-an-ip")])
def test_unresolved(registry, event):
    assert isinstance(resolve(event, registry), Unresolved)


def test_reimport_moves_domain_and_ranges(registry):
    r = Registry()
    r.upsert_account(AccountRecord(account_id="a", domains=("a.example",), ip_ranges=("10.0.0.0/8",)))
    r.upsert_account(AccountRecord(account_id="a", domains=("a2.example",), ip_ranges=()))
    assert r.account_for_domain("a.example") is None
    assert r.account_for_domain("a2.example") == "a"
    assert r.account_for_ip("10.1.1.1") is None


def test_contacts_share_one_copy_of_their_account_id_title_and_role():
    """A million contacts hold their accounts' ids, roles and titles once each, not once per contact."""
    r = Registry()
    # strings built at run time, as rows from the store or a decoded message are: equal, not the same object
    made = [ContactRecord(email=f"p{n}@acme.example", account_id="".join(["ac", "me"]),
                          title=" ".join(["VP", "Marketing"]), role="".join(["v", "p"])) for n in range(2)]
    assert made[0].account_id is not made[1].account_id
    for c in made:
        r.upsert_contact(c)
    held = [r.contacts[c.email] for c in made]
    assert held == made   # the same values: a replayed registry change is still recognised as known
    for name in ("account_id", "title", "role"):
        assert getattr(held[0], name) is getattr(held[1], name), name
