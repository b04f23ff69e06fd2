"""An accounts change re-attributes exactly the stored touches it concerns, on the real engine: read a
month of `touches` at a time and a busy month in slices (CHUNK made tiny here), so every path of the
chunking runs; an account registered now claims the touches that named it before and the people of
every subdomain of its domain; touches the change cannot move are not read again."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas.events import EmailOpen, PageView
from schemas.registry import ACCOUNT_COLUMNS, AccountRecord
from sinks.writer import ClickHouseWriter
from streams import attribution
from streams.core.registry import Registry
from streams.core.score import Scoring, score
from streams.core.weights import Weights

NOW = datetime.now(timezone.utc).replace(microsecond=0)
ACME = AccountRecord(account_id="acme", name="Acme", domains=("acme.example",))
BETA = AccountRecord(account_id="beta", name="Beta", domains=("beta.example",))


def _touches() -> list:
    """Opens by people of both domains over five months (seven a month at acme), page views of a
    cookie naming the unregistered account `gamma`, and an open from a subdomain of gamma's domain."""
    events = []
    for month in range(5):
        at = NOW - timedelta(days=35 * month)
        events += [EmailOpen(event_id=uuid.uuid4(), occurred_at=at - timedelta(minutes=n), email=f"p{n}@acme.example",
                             campaign_id="nov") for n in range(7)]
        events.append(EmailOpen(event_id=uuid.uuid4(), occurred_at=at, email="b@beta.example", campaign_id="nov"))
        events.append(PageView(event_id=uuid.uuid4(), occurred_at=at, anonymous_id="c9", account_id="gamma",
                               url="https://www.example.com/pricing"))
    events.append(EmailOpen(event_id=uuid.uuid4(), occurred_at=NOW, email="x@mail.eu.gamma.example", campaign_id="nov"))
    return events


def _minutes(client, db: str) -> dict:
    """Minutes per account in the fold, and the same from the touches' current versions."""
    fold = dict(client.query(f"SELECT account_id, sum(minutes) FROM {db}.engagement_daily GROUP BY account_id "
                             "HAVING sum(minutes) != 0").result_rows)
    stored = dict(client.query(f"SELECT account_id, sum(minutes) FROM {db}.touches FINAL GROUP BY account_id "
                               "HAVING sum(minutes) != 0").result_rows)
    assert fold == stored
    return fold


def test_moving_a_domain_and_registering_an_account_re_attribute_exactly(engine, monkeypatch):
    client, settings = engine
    db = settings.database
    registry = Registry()
    for account in (ACME, BETA):
        registry.upsert_account(account)
    writer = ClickHouseWriter(client, db, "moves")
    writer.start()
    writer.store.store_records("accounts", ACCOUNT_COLUMNS, [ACME, BETA], NOW)
    scoring = Scoring(registry, Weights(), ZoneInfo("UTC"))
    writer.write(score(_touches(), scoring, NOW))
    assert _minutes(client, db) == {"acme": Decimal(35), "beta": Decimal(5), "": Decimal(6)}
    assert len(writer.store.touch_months("1", {})) >= 5  # the touches span five partitions or more

    # acme's domain moves to beta, and gamma is registered with its domain
    gamma = AccountRecord(account_id="gamma", name="Gamma", domains=("gamma.example",))
    new = [AccountRecord(account_id="acme", name="Acme"), AccountRecord(account_id="beta", name="Beta",
                                                                        domains=("beta.example", "acme.example")), gamma]
    for account in new:
        registry.upsert_account(account)
    monkeypatch.setattr(attribution, "CHUNK", 3)  # 7 matches in a month: read in three slices of it
    where, params = attribution.accounts_scope([ACME, BETA], new)
    assert params["added"] == ["gamma"] and params["lost"] == ["acme"]
    assert params["domains"] == ["acme.example", "gamma.example"]  # beta.example did not move: not read
    assert attribution.reattribute(writer, where, params, scoring) == 35 + 5 + 1
    assert _minutes(client, db) == {"beta": Decimal(40), "gamma": Decimal(6)}
    # nothing left to change: a second pass writes nothing
    assert attribution.reattribute(writer, where, params, scoring) == 0


def test_the_scope_holds_only_what_resolves_differently_now():
    # acme.example leaves acme for acme.io: acme's touches and both domains' people, no payload
    where, params = attribution.accounts_scope([ACME], [AccountRecord(account_id="acme", domains=("acme.io",))])
    assert "payload" not in where and params["added"] == [] and params["lost"] == ["acme"]
    assert params["domains"] == ["acme.example", "acme.io"]
    # a new account: the touches naming it and its domain's people; no account lost anything
    where, params = attribution.accounts_scope([], [BETA])
    assert "JSONExtractString(payload, 'account_id') IN %(added)s" in where and params["added"] == ["beta"]
    assert "account_id IN %(lost)s" not in where and params["domains"] == ["beta.example"]
    # a new name or tier resolves nothing differently: nothing is read
    assert attribution.accounts_scope([ACME], [AccountRecord(account_id="acme", name="Acme Inc.", tier="1",
                                                             domains=("acme.example",))])[0] == "0"
