"""The demo's lifecycle history: the people of the most engaged target accounts (the demo's Zipf heads, the
accounts its touches favour and its opportunities belong to) become leads, MQLs and SQLs; a few become
opportunities and customers; some skip a stage, a few are sent back to lead. Posted signed to /hooks/crm
as a CRM's workflow would, so the Funnel page and the Account page's stages fill from the first minute."""
from __future__ import annotations

import random
from datetime import datetime, timedelta

# (stage, chance of reaching it from the stage before, days spent before it: (least, most))
_LADDER = (("mql", 0.55, (0.3, 9.0)), ("sql", 0.5, (0.2, 6.0)), ("opportunity", 0.55, (1.0, 8.0)),
           ("customer", 0.4, (3.0, 20.0)))
_SOURCES = (("marketing", 0.7), ("sales", 0.2), ("partner", 0.1))


def _person(email: str, owner: str, rnd: random.Random, now: datetime, hot: bool) -> list[dict]:
    source = rnd.choices([s for s, _ in _SOURCES], [w for _, w in _SOURCES])[0]
    first = {"source": source, "owner": owner, "lead_status": "new"}
    # most leads are recent (the touches' 30 days), some older, so the year holds more than the month
    at = now - timedelta(days=rnd.uniform(0.5, 28) if rnd.random() < 0.75 else rnd.uniform(28, 120))
    changes = []
    if source == "marketing" and rnd.random() < 0.3:  # a newsletter subscriber before they became a lead
        changes.append(("subscriber", at - timedelta(days=rnd.uniform(2, 30)), first))
        first = {"owner": owner}
    changes.append(("lead", at, first))
    for stage, chance, (least, most) in _LADDER:
        if rnd.random() > chance * (1.3 if hot else 1.0):
            break
        at += timedelta(days=rnd.uniform(least, most))
        if at > now - timedelta(minutes=5):
            break
        if stage == "mql" and source == "sales" and rnd.random() < 0.5:
            continue  # a rep's own lead goes straight to sql: mql is reached with it
        changes.append((stage, at, {"lead_status": "connected"} if stage == "sql" else {}))
    if changes[-1][0] == "mql" and rnd.random() < 0.15:  # sales sends an MQL back to lead
        back = changes[-1][1] + timedelta(days=rnd.uniform(0.5, 3))
        if back < now:
            changes.append(("lead", back, {"lead_status": "unqualified"}))
    return [{"type": "lifecycle_change", "email": email, "stage": stage, "occurred_at": when.isoformat(), **extra}
            for stage, when, extra in changes]


def make_lifecycle(world, rnd: random.Random, now: datetime, accounts: int = 60) -> list[dict]:
    """Lifecycle changes of the people at the `accounts` most engaged target accounts (the first 20 the
    hottest: they convert more often), about half of each account's contacts."""
    heads = sorted((a for a in world.accounts if a.is_target), key=lambda a: -world.weights[world.accounts.index(a)])
    changes, seen = [], set()
    for rank, account in enumerate(heads[:accounts]):
        for contact in world.people.get(account.account_id, []):
            if rnd.random() < 0.5 and contact.email not in seen:  # the demo's names repeat now and then
                seen.add(contact.email)
                changes += _person(contact.email, account.owner, rnd, now, hot=rank < 20)
    return changes


def post_lifecycle(post, url: str, secret: str, world, rnd: random.Random, now: datetime) -> None:
    """Signed to /hooks/crm in requests of at most 500 items (the hooks' limit)."""
    changes = make_lifecycle(world, rnd, now)
    for start in range(0, len(changes), 500):
        post(url, changes[start:start + 500], secret)
