"""Two workers on one store: identity links one stored reach the other, which restitches its touches."""
from __future__ import annotations

import asyncio
import uuid
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

from schemas.events import Identify, PageView
from schemas.registry import AccountRecord, ContactRecord
from sinks.writer import ClickHouseWriter
from streams import attribution
from streams.jobs import IdentitySync
from streams.pipeline import Pipeline
from streams.core.registry import Registry
from streams.core.score import Scoring, score
from streams.core.weights import Weights

T0 = datetime(2026, 11, 20, 9, tzinfo=timezone.utc)


def test_a_worker_syncs_identities_another_worker_stored(engine):
    """B restitches the cookie whose identify A handled."""
    client, settings = engine
    registry = Registry()
    registry.upsert_account(AccountRecord(account_id="acme", ip_ranges=("10.0.0.0/8",)))
    registry.upsert_account(AccountRecord(account_id="globex", domains=("globex.example",)))
    registry.upsert_contact(ContactRecord(email="cfo@globex.example", account_id="globex", role="c_level"))
    writer = ClickHouseWriter(client, settings.database, "b", shared_store=True)
    writer.start()
    scoring_b = Scoring(registry, Weights(), ZoneInfo("UTC"))
    since = datetime.now(timezone.utc) - timedelta(seconds=1)
    (visit_b,) = score([PageView(event_id=uuid.uuid4(), occurred_at=T0, url="https://x", anonymous_id="cookie",
                                 ip="10.1.1.1")], scoring_b, T0)
    writer.write([visit_b])                                   # B stored it unstitched (IP: acme)
    identify = Identify(event_id=uuid.uuid4(), occurred_at=T0, anonymous_id="cookie", email="cfo@globex.example")
    attribution.store_identities(writer.store, [identify])   # as A would
    # what the worker's sync does: read the links on the sink thread, learn them, restitch what changed
    assert scoring_b.identities.learn_links(writer.store.identity_links_since(since)) == {"cookie"}
    attribution.restitch(writer, {"cookie"}, scoring_b)
    (row,) = writer.stored("anonymous_id = 'cookie'")
    assert (row.account_id, row.person, row.method) == ("globex", "cfo@globex.example", "stitched")


def test_a_touch_stored_after_the_link_was_learnt_is_restitched_at_a_later_tick(engine):
    """A chunk scored before the sync learnt a link (the cookie still anonymous) and stored after that
    tick's re-stitch (it waited in the sink queue) is re-stitched by the next tick: before, it stayed
    on the IP's account for good (found by the shared-store bench with three workers)."""
    client, settings = engine
    registry = Registry()
    registry.upsert_account(AccountRecord(account_id="acme", ip_ranges=("10.0.0.0/8",)))
    registry.upsert_account(AccountRecord(account_id="globex", domains=("globex.example",)))
    writer = ClickHouseWriter(client, settings.database, "b", shared_store=True)
    writer.start()
    pipeline = Pipeline(settings, writer, Scoring(registry, Weights(), ZoneInfo("UTC")))
    sync = IdentitySync(pipeline)
    (visit,) = score([PageView(event_id=uuid.uuid4(), occurred_at=T0, url="https://x", anonymous_id="late-cookie",
                               ip="10.1.1.1")], pipeline.scoring, T0)       # scored: the link is not known yet
    identify = Identify(event_id=uuid.uuid4(), occurred_at=T0, anonymous_id="late-cookie", email="ann@globex.example")
    attribution.store_identities(writer.store, [identify])               # another worker's identify
    asyncio.run(sync())                                                   # learnt; nothing of the cookie stored
    writer.write([visit])                                                 # the waiting chunk lands now
    asyncio.run(sync())
    (row,) = writer.stored("anonymous_id = 'late-cookie'")
    assert (row.account_id, row.person, row.method) == ("globex", "ann@globex.example", "stitched")
