"""Helpers of the operations tests: generated touches with their expected totals, producing them,
reading the worker's health, and running `pulse` commands against a test's settings."""
from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import urllib.error
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from conftest import ROOT, env_for, free_port, sql_rows, wait_until
from pulse.support.broker import start_broker
from schemas.settings import Settings
from schemas import topics
from schemas.events import EmailClick, FormSubmit, Meeting, Touch, encode_batch
from schemas.registry import AccountRecord
from streams.producer import producer, publish_accounts


class Broker:
    """An embedded broker of a test's own, on a free port. SIGKILLed, it comes back empty when started
    again (it keeps its topics in memory); frozen (SIGSTOP), it keeps what it had and stops answering, as a
    Kafka server on a cut network does, until thawed."""

    def __init__(self, log_dir):
        self.port, self.log_dir, self.proc = free_port(), log_dir, None

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.proc = start_broker("127.0.0.1", self.port, self.log_dir / "broker.log", "the test's own broker")

    def kill(self) -> None:
        self.proc.kill()

    def freeze(self) -> None:
        self.proc.popen.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.proc.popen.send_signal(signal.SIGCONT)


def accounts(n: int) -> list[AccountRecord]:
    return [AccountRecord(account_id=f"acc-{i:03d}", name=f"Account {i}", domains=(f"acc{i:03d}.example",))
            for i in range(n)]


@dataclass
class Expected:
    """What every view must show, computed from the generated input alone (each event id once)."""

    minutes: Counter = field(default_factory=Counter)      # account_id ('' = unresolved) -> Decimal
    touches: Counter = field(default_factory=Counter)      # account_id -> count
    ids: set = field(default_factory=set)
    signed: Counter = field(default_factory=Counter)       # account_id -> minutes of clicks and meetings
    confirmed: set = field(default_factory=set)            # (account_id, person) with a signed touch
    form_days: set = field(default_factory=set)            # (account_id, person, day) with a form

    def add(self, account: str, minutes: Decimal, event_id: uuid.UUID, person: str = "", day=None,
            form: bool = False) -> None:
        if event_id in self.ids:
            return
        self.ids.add(event_id)
        self.minutes[account] += minutes
        self.touches[account] += 1
        if form:
            self.form_days.add((account, person, day))
        else:
            self.signed[account] += minutes
            self.confirmed.add((account, person))

    def view_minutes(self) -> dict[str, Decimal]:
        """Minutes per account as account_engagement counts them (all within 30 days): a person's forms
        at most one form's worth a day (form_submit_daily_cap), and only for a person a signed touch
        (a click or a meeting) confirms at the account; unresolved touches belong to no account."""
        view = Counter(self.signed)
        for account, person, _day in self.form_days:
            if (account, person) in self.confirmed:
                view[account] += Decimal(10)
        return {a: m.quantize(Decimal("0.01")) for a, m in view.items() if a}

    @property
    def total_minutes(self) -> Decimal:
        return sum(self.minutes.values(), Decimal(0))


def generate(n: int, n_accounts: int, seed: int, now: datetime, days: int = 20,
             duplicate_share: float = 0.05, pad: int = 0) -> tuple[list[Touch], Expected]:
    """n events (meetings, email clicks, form submits) over the last `days` days, ~5% of them sent twice.

    Minutes are chosen so the expected values need no knowledge of the pipeline: people have no
    contact record (role 'unknown', multiplier 1), a meeting is worth its length, a click 2, a form 10.
    One in 50 events is from a domain no account has (unresolved, counted under account '').
    """
    rnd = random.Random(seed)
    events: list[Touch] = []
    expected = Expected()
    properties = {"pad": "x" * pad} if pad else {}
    while len(events) < n:
        if events and rnd.random() < duplicate_share:
            events.append(rnd.choice(events))  # the same event again: same id, same content
            continue
        event_id = uuid.UUID(int=rnd.getrandbits(128), version=4)
        i = rnd.randrange(n_accounts)
        unresolved = rnd.random() < 0.02
        domain = f"nobody{i}.test" if unresolved else f"acc{i:03d}.example"
        email = f"p{rnd.randrange(40)}@{domain}"
        at = (now - timedelta(seconds=rnd.uniform(60, days * 86400))).replace(microsecond=0)
        kind = rnd.random()
        if kind < 0.5:
            length = rnd.randint(1, 90)
            event = Meeting(event_id=event_id, occurred_at=at, email=email, duration_minutes=length,
                            properties=properties)
            minutes = Decimal(length)
        elif kind < 0.9:
            event = EmailClick(event_id=event_id, occurred_at=at, email=email, campaign_id="cmp-1",
                               url="https://www.example.com/x", properties=properties)
            minutes = Decimal(2)
        else:
            event = FormSubmit(event_id=event_id, occurred_at=at, email=email, form_id="demo", properties=properties)
            minutes = Decimal(10)
        events.append(event)
        expected.add("" if unresolved else f"acc-{i:03d}", minutes, event_id, email, at.date(),
                     form=isinstance(event, FormSubmit))
    return events, expected


def send_in_messages(settings: Settings, events: list[Touch], seed: int, sizes: tuple[int, int] = (50, 500)) -> int:
    """Publish events as the hooks do (one JSON array per message), 50-500 events a message."""
    rnd = random.Random(seed)
    p = producer(settings)
    name = settings.topic(topics.TOUCHES)
    start, messages = 0, 0
    while start < len(events):
        size = rnd.randint(*sizes)
        p.send(name, encode_batch(events[start:start + size]))
        start += size
        messages += 1
    p.flush()
    p.close()
    return messages


def publish_registry(settings: Settings, records: list[AccountRecord]) -> None:
    p = producer(settings)
    publish_accounts(p, settings, records)
    p.close()


def wait_for_registry(settings: Settings, n: int, timeout: float = 90) -> None:
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM accounts FINAL")[0][0] == n, timeout,
               what=f"{n} accounts in ClickHouse")


def health(settings: Settings) -> dict:
    url = f"http://{settings.sql_host}:{settings.health_port}/health"
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


FAULT_TOKEN = "test-fault-token-0123456789abcdef"


def with_faults(settings: Settings, max_seconds: float = 600.0) -> Settings:
    """Settings of a worker whose sink can be stopped on purpose (off by default, as in production)."""
    return settings.replace(fault_injection=True, fault_token=FAULT_TOKEN, fault_max_seconds=max_seconds)


def sink_outage(settings: Settings, seconds: float) -> dict:
    """Arm the worker's outage switch (fault injection on, see with_faults) with its token."""
    url = f"http://{settings.sql_host}:{settings.health_port}/admin/sink-outage?seconds={seconds}"
    request = urllib.request.Request(url, method="POST", headers={"Authorization": f"Bearer {settings.fault_token}"})
    with urllib.request.urlopen(request, timeout=5) as response:
        return json.loads(response.read())


def admin_post(settings: Settings, query: str, headers: dict | None = None) -> tuple[int, bytes]:
    """(status, body) of a POST to the worker's fault-injection route, errors included."""
    url = f"http://{settings.sql_host}:{settings.health_port}/admin/sink-outage{query}"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, method="POST", headers=headers or {}),
                                    timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def pulse(settings: Settings, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pulse.cli", *args], env=env_for(settings), cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)


def stored_totals(settings: Settings) -> tuple[dict, dict, int]:
    """(minutes per account, touches per account, events) as analysts read them."""
    rows = sql_rows(settings, "SELECT account_id, sum(minutes), sum(touches) FROM engagement_daily "
                              "WHERE kind = 'touch' GROUP BY account_id HAVING sum(touches) != 0")
    events = sql_rows(settings, "SELECT count() FROM events")[0][0]
    return ({a: Decimal(m) for a, m, _ in rows}, {a: t for a, _, t in rows}, events)


def expected_totals(expected: Expected) -> tuple[dict, dict, int]:
    return ({a: m.quantize(Decimal("0.01")) for a, m in expected.minutes.items()},
            dict(expected.touches), len(expected.ids))


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def on_one_day(now: datetime, tz: str, span: timedelta) -> datetime:
    """`now`, or the last second of the day before when the `span` before now crosses midnight in `tz`:
    a test of per-day caps that runs just after midnight would otherwise split its touches over two days."""
    local = now.astimezone(ZoneInfo(tz))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    return now if local - span >= midnight else (midnight - timedelta(seconds=1)).astimezone(timezone.utc)
