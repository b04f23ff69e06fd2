"""The benchmark workload: generated, realistic and seeded.

A registry of accounts (10 % targets, Zipf-distributed activity), contacts with buying roles and one
IP range per account; a stream of touches mixing every type in realistic proportions (mostly page
views and email opens), with unresolvable traffic, exact duplicates and late events. The expected
totals are computed from the same pure core the worker runs, so the check is about the pipeline
(nothing lost, nothing counted twice), not about re-deriving the scoring rules.
"""
from __future__ import annotations

import ipaddress
import random
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas.events import Touch
from schemas.registry import AccountRecord, ContactRecord
from schemas.validate import Accepted, validate
from streams.core.registry import Registry
from streams.core.score import Identities, Scoring, score
from streams.core.weights import Weights

ROLES = (("c_level", 0.05), ("vp", 0.1), ("director", 0.2), ("manager", 0.3), ("other", 0.35))
MIX = (("page_view", 0.50), ("email_open", 0.25), ("email_click", 0.07), ("form_submit", 0.03),
       ("event_attendance", 0.04), ("call", 0.05), ("meeting", 0.02), ("identify", 0.04))
BASE_NET = int(ipaddress.ip_address("10.0.0.0"))


@dataclass
class Workload:
    accounts: list[AccountRecord]
    contacts: list[ContactRecord]
    events: list[Touch]            # in send order, duplicates included
    unique_events: int
    expected_minutes: Decimal      # sum of minutes over unique events (before the page-view cap)
    expected_by_account: dict[str, Decimal]

    def messages(self, per_message: int = 50) -> list[list[Touch]]:
        return [self.events[i:i + per_message] for i in range(0, len(self.events), per_message)]


def account_range(i: int) -> str:
    return f"{ipaddress.ip_address(BASE_NET + i * 64)}/26"


def generate(n_accounts: int, n_contacts: int, n_events: int, seed: int = 42,
             now: datetime | None = None) -> Workload:
    rnd = random.Random(seed)
    now = now or datetime.now(timezone.utc)
    accounts = [
        AccountRecord(account_id=f"a{i}", name=f"Account {i}", domains=(f"acc{i}.example",),
                      ip_ranges=(account_range(i),), tier=str(1 + i % 3), is_target=(i % 10 == 0),
                      committee_size=6, owner=f"rep{i % 25}")
        for i in range(n_accounts)
    ]
    roles, role_weights = zip(*ROLES)
    contacts = [
        ContactRecord(email=f"c{j}@acc{j % n_accounts}.example", account_id=f"a{j % n_accounts}",
                      role=rnd.choices(roles, role_weights)[0])
        for j in range(n_contacts)
    ]
    # Zipf-like activity: a few accounts get most of the touches.
    weights = [1.0 / (rank + 1) ** 1.07 for rank in range(n_accounts)]
    cumulative, total = [], 0.0
    for w in weights:
        total += w
        cumulative.append(total)
    picks = rnd.choices(range(n_accounts), cum_weights=cumulative, k=n_events)
    kinds, kind_weights = zip(*MIX)
    raw = []
    for k, i in enumerate(picks):
        kind = rnd.choices(kinds, kind_weights)[0]
        late = rnd.random() < 0.03
        at = now - timedelta(days=rnd.uniform(1, 30) if late else rnd.uniform(0, 0.01))
        raw.append(_touch(rnd, kind, i, n_accounts, n_contacts, at, k))
    # exact duplicates (a retried webhook / beacon): about 2 %
    dupes = [raw[rnd.randrange(len(raw))] for _ in range(n_events // 50)]
    events = []
    for obj in raw:
        result = validate(obj, now=now, max_age=timedelta(days=390))
        assert isinstance(result, Accepted), (obj, result)
        events.append(result.event)
    unique = {e.event_id: e for e in events}
    events += [validate(d, now=now, max_age=timedelta(days=390)).event for d in dupes]
    rnd.shuffle(events)
    expected_minutes, by_account = expected_totals(list(unique.values()), accounts, contacts)
    return Workload(accounts, contacts, events, len(unique), expected_minutes, by_account)


def expected_totals(events: list[Touch], accounts, contacts) -> tuple[Decimal, dict[str, Decimal]]:
    registry = Registry()
    for a in accounts:
        registry.upsert_account(a)
    for c in contacts:
        registry.upsert_contact(c)
    identities = Identities()
    identities.learn(events)  # the final state: every touch of an identified cookie counts for its person
    rows = score(events, Scoring(registry, Weights(), ZoneInfo("UTC"), identities), datetime.now(timezone.utc))
    by_account: dict[str, Decimal] = {}
    for r in rows:
        by_account[r.account_id] = by_account.get(r.account_id, Decimal(0)) + r.minutes
    return sum((r.minutes for r in rows), Decimal(0)), by_account


def _touch(rnd: random.Random, kind: str, i: int, n_accounts: int, n_contacts: int, at: datetime, k: int) -> dict:
    contact = rnd.randrange(i, n_contacts, n_accounts) if i < n_contacts else None
    roll = rnd.random()
    if roll < 0.08 or contact is None:     # unresolvable: free mail or an unknown network
        identity = {"email": f"someone{k}@gmail.com"} if rnd.random() < 0.5 else \
            {"anonymous_id": f"anon-u{k}", "ip": f"203.0.113.{rnd.randrange(1, 255)}"}
    elif kind in ("page_view", "identify") and roll < 0.5:   # an anonymous visitor from the account's network
        identity = {"anonymous_id": f"anon-{i}-{rnd.randrange(5)}",
                    "ip": str(ipaddress.ip_address(BASE_NET + i * 64 + rnd.randrange(1, 63)))}
    else:
        identity = {"email": f"c{contact}@acc{i}.example"}
    base = {"event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "occurred_at": at.isoformat(),
            **identity}
    if kind == "page_view":
        return {**base, "type": kind, "url": f"https://www.example.com/p/{rnd.randrange(200)}",
                "engaged_seconds": rnd.randrange(5, 300)}
    if kind == "identify":
        anon = identity.get("anonymous_id") or f"anon-{i}-{rnd.randrange(5)}"
        email = identity.get("email") or f"c{contact if contact is not None else 0}@acc{i}.example"
        return {**base, "type": kind, "anonymous_id": anon, "email": email}
    if kind in ("email_open", "email_click"):
        extra = {"url": "https://www.example.com/offer"} if kind == "email_click" else {}
        return {**base, "type": kind, "campaign_id": f"cmp-{rnd.randrange(20)}", **extra}
    if kind == "form_submit":
        return {**base, "type": kind, "form_id": "demo-request"}
    if kind == "event_attendance":
        status = rnd.choices(("registered", "attended", "no_show"), (0.4, 0.45, 0.15))[0]
        extra = {"attended_minutes": rnd.randrange(10, 60)} if status == "attended" else {}
        return {**base, "type": kind, "program_id": f"evt-{rnd.randrange(5)}", "status": status, **extra}
    if kind == "call":
        outcome = rnd.choice(("no_answer", "voicemail", "connected", "conversation", "meeting_booked"))
        return {**base, "type": kind, "direction": rnd.choice(("inbound", "outbound")),
                "duration_seconds": rnd.randrange(0, 1800), "outcome": outcome}
    return {**base, "type": "meeting", "duration_minutes": rnd.choice((30, 45, 60))}
