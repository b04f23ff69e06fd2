"""The demo's non-person traffic: each class shows up, as the traffic rules would judge it."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timezone

import msgspec

from pulse import demo, demo_traffic
from schemas.events import decode_batch
from streams.core.traffic import TrafficRules, classify

NOW = datetime(2026, 11, 25, 12, tzinfo=timezone.utc)


def test_the_demo_sends_every_class_and_the_rules_agree():
    sent: list[dict] = []
    world = demo.make_world(7)
    n = demo_traffic.post_traffic(lambda url, events, secret: sent.extend(events), "http://hooks/hooks/events", "s",
                                  world, random.Random(1), NOW, days=14)
    assert n == len(sent) > 0 and all(e["occurred_at"] < NOW.isoformat() for e in sent)
    events = decode_batch(msgspec.json.encode([{**e, "event_id": str(uuid.UUID(e["event_id"]))} for e in sent]))
    rules = TrafficRules.of(internal_domains=[demo_traffic.OWN_DOMAIN])
    classes = {classify(e, e.email, e.ip, rules).traffic for e in events}
    assert classes == {"bot", "scanner", "privacy_proxy", "internal", "person"}  # person: the scanners' and
    # scraper's browser agents, which the behaviour rules flag once stored
    scraper = [e for e in events if (e.anonymous_id or "").startswith("scraper-")]
    assert len(scraper) >= 35
