"""Resolution of one touch to a target account and a person: a pure function of (event, registry).

Order (first that answers wins): explicit account_id -> known contact email -> email domain of a
registered account (never a free-mail domain) -> identity stitching -> IP range -> unresolved.
"""
from __future__ import annotations

from dataclasses import dataclass

from schemas.events import Touch
from streams.core.freemail import is_freemail
from streams.core.registry import Registry


@dataclass(frozen=True, slots=True)
class Resolved:
    account_id: str
    person: str   # email, else anonymous id, else "" (an IP-only touch belongs to no person)
    method: str   # account_id | contact | domain | stitched | ip
    role: str     # the contact's buying role, "unknown" when no contact record


@dataclass(frozen=True, slots=True)
class Unresolved:
    person: str
    reason: str


def person_of(event: Touch, stitched_email: str | None = None) -> str:
    return stitched_email or event.email or event.anonymous_id or ""


def resolve(event: Touch, registry: Registry, stitched_email: str | None = None) -> Resolved | Unresolved:
    """`stitched_email` is the email an `identify` tied to the event's anonymous id, if any."""
    email = event.email or stitched_email
    person = person_of(event, stitched_email)
    contact = registry.contacts.get(email) if email else None
    role = contact.role if contact else "unknown"
    if event.account_id and event.account_id in registry.accounts:
        return Resolved(event.account_id, person, "account_id", role)
    if contact is not None and contact.account_id:
        return Resolved(contact.account_id, person, "contact" if event.email else "stitched", role)
    if email:
        domain = email.rpartition("@")[2]
        if not is_freemail(domain):
            account_id = registry.account_for_domain(domain)
            if account_id is not None:
                return Resolved(account_id, person, "domain" if event.email else "stitched", role)
    if event.ip:
        account_id = registry.account_for_ip(event.ip)
        if account_id is not None:
            return Resolved(account_id, person, "ip", role)
    if event.account_id:
        return Unresolved(person, f"account_id {event.account_id!r} is not in the registry")
    return Unresolved(person, "no registered account matches this touch")
