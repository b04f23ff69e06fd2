"""Hooks -> Kafka -> worker -> ClickHouse for the new inputs: heartbeats, email links, webhooks, dead letters."""
from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from conftest import sql_rows, wait_until
from hooks_helpers import call, post_json, post_signed
from streams.tracking import tokens

SECRET, LINK_SECRET = "pipeline-hook-secret", "pipeline-link-secret"

ENGAGED = """
SELECT toString(if(type = 'page_view', event_id, toUUID(JSONExtractString(payload, 'page_view_id')))) AS page_view,
       max(JSONExtractUInt(payload, 'engaged_seconds')) AS engaged_seconds,
       sum(minutes) AS minutes, countIf(type = 'page_view') AS views
FROM events WHERE type IN ('page_view', 'page_engagement')
GROUP BY page_view ORDER BY page_view
"""


def test_heartbeats_email_links_and_webhooks_reach_clickhouse_exactly_once(settings, start):
    settings = settings.replace(hook_secrets=(SECRET,), link_secrets=(LINK_SECRET,))
    start("worker", settings)
    start("hooks", settings)
    now = datetime.now(timezone.utc)
    at = lambda s: (now + timedelta(seconds=s)).isoformat()  # noqa: E731
    view_id = str(uuid.uuid4())
    aid = "visitor-1"

    # a page view, then heartbeats as the snippet sends them (one of them retried)
    assert post_json(settings, "/collect", {"type": "page_view", "event_id": view_id, "occurred_at": at(-60),
                                            "url": "https://www.example.com/pricing", "anonymous_id": aid}).status == 202
    for seconds in (15, 30, 30, 42):
        beat = {"type": "page_engagement", "occurred_at": at(-60 + seconds), "page_view_id": view_id,
                "engaged_seconds": seconds, "anonymous_id": aid}
        assert post_json(settings, "/collect", [beat]).status == 202

    # an email open (fetched twice) and a bad open token
    issued = int(time.time())
    link = urllib.parse.urlsplit(tokens.open_link(settings.hooks_url, LINK_SECRET, "nov-newsletter", "ana@acme.example",
                                                  issued)).path
    assert call(settings, "GET", link).status == 200 and call(settings, "GET", link).status == 200
    assert call(settings, "GET", "/o/not-a-token.gif").status == 200

    # a signed webhook call
    body = json.dumps([{"occurred_at": at(-120), "email": "ceo@acme.example", "direction": "inbound",
                        "duration_seconds": 600, "outcome": "conversation"}]).encode()
    assert post_signed(settings, "/hooks/calls", body, SECRET).status == 202
    assert post_signed(settings, "/hooks/calls", body, SECRET).status == 202  # the sender's retry

    def types():
        return dict(sql_rows(settings, "SELECT type, count() FROM events GROUP BY type"))

    wait_until(lambda: types() == {"page_view": 1, "page_engagement": 3, "email_open": 1, "call": 1}, 60,
               what="one view, three distinct heartbeats, one open and one call in ClickHouse")
    # engaged time is the largest heartbeat; heartbeats add no minutes and no page views
    assert sql_rows(settings, ENGAGED) == [(view_id, 42, Decimal("1.00"), 1)]
    rejected = wait_until(lambda: sql_rows(settings, "SELECT source, reasons FROM rejected_events"), 30,
                          what="the bad token in rejected_events")
    assert rejected[0][0] == "email" and "not a pulse link token" in rejected[0][1]
