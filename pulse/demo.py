"""Demo traffic: a registry of target accounts and live touches posted to the tracking hooks.

Realistic enough for a newcomer's first minutes: a few hundred accounts with domains and IP ranges,
contacts with buying roles, web visits (identified and anonymous), an email campaign, a webinar
and sales calls, with activity concentrated on a few accounts (Zipf), as in real ABM programs.
"""
from __future__ import annotations

import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
import uuid
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone

from schemas.settings import Settings
from decimal import Decimal

from pulse import demo_alerts, demo_crm, demo_funnel, demo_history, demo_money, demo_sales, demo_traffic
from schemas.registry import AccountRecord, ContactRecord, ProgramRecord
from streams.tracking import signatures

log = logging.getLogger("pulse.demo")

_PREFIX = "Acme Globex Initech Umbrella Stark Wayne Wonka Cyberdyne Soylent Tyrell Hooli Vandelay Massive Dynamic " \
          "Pied Aperture Black Mesa Gringotts Oscorp Nakatomi Virtucon Monarch Prestige Zorg Buy Sirius Kramerica " \
          "Dunder Bluth Paper Blue Sun Weyland Yutani Rekall Omni Delos Abstergo Oceanic Veridian Octan".split()
_SUFFIX = "Systems Labs Logistics Health Energy Bank Analytics Robotics Foods Media Capital Networks Retail Pharma " \
          "Motors Insurance Cloud Security Foundry Aerospace".split()
_FIRST = "ana ben chen dara eli fatima gus hana ivan jo kofi lena mia nils omar pia quinn raj sara tom uma " \
         "vik wen xavi yara zoe".split()
_LAST = "smith garcia muller rossi kim novak silva tanaka okafor larsen dubois khan nguyen cohen ortiz".split()
_ROLES = (("c_level", 0.08), ("vp", 0.14), ("director", 0.22), ("manager", 0.3), ("other", 0.26))
_PAGES = ("/", "/pricing", "/product", "/product/attribution", "/customers", "/blog/abm-playbook",
          "/docs/getting-started", "/webinars/q4-roadmap", "/compare", "/security")
# Live touches a second, at about the pace of the history (600 a day, pulse/demo_history.py) sped up: an hour adds
# about a quarter to the last 7 days, so the accounts surging are still the history's few; at 20 a second every touched
# account surged within minutes. `pulse demo --rate` sets it (a demo left running for hours: more surge).
LIVE_RATE = 0.3
CAMPAIGN = "cmp-november-newsletter"
WEBINAR = "evt-q4-roadmap-webinar"
# Costs all-in (content, agency, sends, promotion), sized to the demo's CRM history (about 3.5M of pipeline a
# month, pulse/demo_crm.py): the Influence page's ROI then reads in the hundreds to thousands of percent, not
# 100,000 %. The content program has no cost: its ROI is empty (—), as for any program imported without one.
PROGRAMS = [
    ProgramRecord(program_id=CAMPAIGN, name="November newsletter", channel="email", cost=Decimal("24000"),
                  audience_size=8000),
    ProgramRecord(program_id=WEBINAR, name="Q4 roadmap webinar", channel="webinar", cost=Decimal("18000"),
                  audience_size=600),
    ProgramRecord(program_id="web-abm-playbook", name="ABM playbook (content)", channel="web"),
]


@dataclass
class DemoWorld:
    accounts: list[AccountRecord]
    contacts: list[ContactRecord]
    weights: list[float]

    def __post_init__(self) -> None:
        self.people: dict[str, list[ContactRecord]] = {}
        for contact in self.contacts:
            self.people.setdefault(contact.account_id, []).append(contact)
        # where a touch is (pulse/demo_crm.py): by its person's email, or by its IP's /24 range
        self.account_by_id = {a.account_id: a for a in self.accounts}
        self.account_by_email = {c.email: c.account_id for c in self.contacts}
        self.account_by_range = {tuple(a.ip_ranges[0].split(".")[1:3]): a.account_id for a in self.accounts}


def make_world(seed: int = 7, n_accounts: int = 400, targets: int = 250) -> DemoWorld:
    rnd = random.Random(seed)
    accounts, contacts, names = [], [], set()
    for i in range(n_accounts):
        while True:
            name = f"{rnd.choice(_PREFIX)} {rnd.choice(_SUFFIX)}"
            if name not in names:
                names.add(name)
                break
        slug = name.lower().replace(" ", "")
        account_id = f"acc-{i + 1:04d}"
        # 198.18.0.0/15 is reserved for benchmarking: demo ranges never collide with real networks.
        cidr = f"198.{18 + (i // 256) % 2}.{i % 256}.0/24"
        accounts.append(AccountRecord(
            account_id=account_id, name=name, domains=(f"{slug}.example",), ip_ranges=(cidr,),
            tier=rnd.choices(("1", "2", "3"), (0.2, 0.3, 0.5))[0], is_target=i < targets,
            committee_size=rnd.choice((4, 6, 8, 10)), owner=rnd.choice(("Avery", "Blake", "Casey", "Devon")),
        ))
        for _ in range(rnd.randint(2, 7)):
            first, last = rnd.choice(_FIRST), rnd.choice(_LAST)
            role = rnd.choices([r for r, _ in _ROLES], [w for _, w in _ROLES])[0]
            contacts.append(ContactRecord(email=f"{first}.{last}@{slug}.example", account_id=account_id,
                                          name=f"{first.title()} {last.title()}", title=role.replace("_", " "),
                                          role=role))
    weights = [1 / (rank + 1) ** 1.1 for rank in range(n_accounts)]
    rnd.shuffle(weights)
    return DemoWorld(accounts, contacts, weights)


def make_touch(world: DemoWorld, rnd: random.Random, at: datetime, account: AccountRecord | None = None) -> dict:
    """One touch at `at`, at `account` or at one the Zipf weights choose."""
    account = account or rnd.choices(world.accounts, world.weights)[0]
    person = rnd.choice(world.people[account.account_id])
    host = int(account.ip_ranges[0].split(".")[2])
    ip = f"198.{account.ip_ranges[0].split('.')[1]}.{host}.{rnd.randint(2, 250)}"
    base = {"event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "occurred_at": at.isoformat(),
            "source": "demo"}
    kind = rnd.choices(("page_view", "email_open", "email_click", "event_attendance", "call", "form_submit",
                        "meeting"), (0.55, 0.22, 0.08, 0.05, 0.05, 0.03, 0.02))[0]
    if kind == "page_view":
        identity = {"email": person.email} if rnd.random() < 0.4 else {
            "anonymous_id": f"anon-{zlib.crc32(person.email.encode()):08x}", "ip": ip}
        page = rnd.choice(_PAGES)
        if "anonymous_id" in identity and rnd.random() < 0.05:  # a visitor fills in a form: stitch the cookie
            return {**base, "type": "identify", "anonymous_id": identity["anonymous_id"], "email": person.email}
        program = {"program_id": "web-abm-playbook"} if page == "/blog/abm-playbook" else {}
        return {**base, **identity, **program, "type": kind, "url": f"https://pulse-demo.example{page}",
                "engaged_seconds": rnd.randint(5, 240)}
    if kind in ("email_open", "email_click"):
        extra = {"url": "https://pulse-demo.example/webinars/q4-roadmap"} if kind == "email_click" else {}
        return {**base, "type": kind, "email": person.email, "campaign_id": CAMPAIGN, **extra}
    if kind == "event_attendance":
        status = rnd.choices(("registered", "attended", "no_show"), (0.4, 0.45, 0.15))[0]
        extra = {"attended_minutes": rnd.randint(15, 55)} if status == "attended" else {}
        return {**base, "type": kind, "email": person.email, "program_id": WEBINAR, "status": status, **extra}
    if kind == "call":
        outcome = rnd.choices(("no_answer", "voicemail", "connected", "conversation", "meeting_booked"),
                              (0.35, 0.2, 0.2, 0.17, 0.08))[0]
        return {**base, "type": kind, "email": person.email, "direction": rnd.choice(("inbound", "outbound")),
                "duration_seconds": 0 if outcome == "no_answer" else rnd.randint(20, 1500), "outcome": outcome,
                "rep": account.owner}
    if kind == "meeting":
        return {**base, "type": kind, "email": person.email, "duration_minutes": rnd.choice((30, 45, 60)),
                "rep": account.owner}
    return {**base, "type": kind, "email": person.email, "form_id": "demo-request", "asset": "ABM guide"}


def make_history(world: DemoWorld, rnd: random.Random, now: datetime, days: int = demo_history.DAYS) -> list[dict]:
    """The backfilled touches over `days` days before now: steady weeks, a few accounts surging
    (pulse/demo_history.py); the CRM history follows them."""
    return demo_history.make_history(world, rnd, now, make_touch, days)[0]


def live_count(rnd: random.Random, rate: float) -> int:
    """Touches to post this second: `rate` on average (0.3: one about every third second)."""
    return int(rate) + (rnd.random() < rate % 1)


def post(url: str, events: list[dict], secret: str) -> dict:
    """Signed (X-Pulse-Signature), as a partner system sends: the demo's touches name their people,
    addresses and past days, which the public /collect does not take from a page (README, Security)."""
    body = json.dumps(events).encode()
    headers = {"Content-Type": "application/json", **signatures.headers(secret, int(time.time()), body)}
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def run(settings: Settings, rate: float = LIVE_RATE, backfill_days: int = demo_history.DAYS, seed: int = 7,
        stop_after: float | None = None) -> None:
    """Publish the registry, backfill some history, then post live touches at about `rate` per second."""
    from streams.producer import producer, publish_accounts, publish_contacts, publish_programs

    if not settings.hook_secrets:
        raise SystemExit("the demo signs what it sends: set PULSE_HOOK_SECRET (pulse up --demo makes one)")
    secret = settings.hook_secrets[0]
    demo_alerts.start_inbox(os.environ)  # where the demo's alert rules deliver, under `pulse up --demo`
    world = make_world(seed)
    p = producer(settings)
    publish_accounts(p, settings, world.accounts)
    publish_contacts(p, settings, world.contacts)
    publish_programs(p, settings, PROGRAMS)
    demo_money.publish_spend_and_goals(p, settings)
    p.close()
    log.info("demo registry published: %d accounts, %d contacts", len(world.accounts), len(world.contacts))
    rnd = random.Random(seed + 1)
    collect = f"{settings.hooks_url}/hooks/events"
    now = datetime.now(timezone.utc)
    history = make_history(world, rnd, now, backfill_days)
    for start in range(0, len(history), 500):
        post(collect, history[start:start + 500], secret)
    opportunities = demo_crm.make_opportunities(world, random.Random(seed + 2), now, history)
    post(f"{settings.hooks_url}/hooks/crm", opportunities, secret)
    demo_traffic.post_traffic(post, collect, secret, world, random.Random(seed + 5), now, backfill_days)
    demo_funnel.post_lifecycle(post, f"{settings.hooks_url}/hooks/crm", secret, world, random.Random(seed + 3), now)
    demo_sales.post_sales(post, settings.hooks_url, secret, world, random.Random(seed + 4), now, seed,
                          demo_crm.accounts_in_business(opportunities))
    started = time.monotonic()
    while stop_after is None or time.monotonic() - started < stop_after:
        tick = time.monotonic()
        batch = [make_touch(world, rnd, datetime.now(timezone.utc)) for _ in range(live_count(rnd, rate))]
        try:
            if batch:
                post(collect, batch, secret)
        except (urllib.error.URLError, OSError) as exc:
            log.warning("demo: hooks not reachable (%s); retrying", exc)
        time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))
