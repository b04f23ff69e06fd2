"""The alert job's moments from real data on the engine (sinks/alerts_sql.py): an account's first meeting once,
and an MQL past its first-touch SLA without an attempt (the funnel data of issue 16)."""
from __future__ import annotations

from datetime import timedelta, timezone

from test_sales_activity_views import NOW, call, lifecycle, meeting, write_touches

from sinks.store import Store

H, D = timedelta(hours=1), timedelta(days=1)


def utc(at):
    return at.replace(tzinfo=timezone.utc)  # the engine answers naive UTC


def test_first_meeting_and_sla_breach_moments(engine):
    client, settings = engine
    db = settings.database
    store = Store(client, db)
    write_touches(client, db, [
        meeting(NOW - 2 * H, "ceo@acme.example", "acme", "Avery"),
        meeting(NOW - H, "cto@acme.example", "acme", "Avery"),           # a second meeting: no second alert
        meeting(NOW - 3 * D, "vp@globex.example", "globex", "Blake"),    # older than the lookback
        call(NOW - 29 * H, "q@acme.example", "acme", "Avery"),           # q was called within the hour after MQL
    ])
    lifecycle(client, db, ("p@acme.example", "mql", NOW - 30 * H, "Avery", "acme"),   # never called: breached 6 h ago
              ("q@acme.example", "mql", NOW - 30 * H, "Avery", "acme"),
              ("r@acme.example", "mql", NOW - 2 * H, "Avery", "acme"))                # still has 22 hours
    since = NOW - D
    (first,) = store.alert_moments("first_meeting", since, 86400)
    assert first[:3] == ("first_meeting", "acme:first_meeting", "acme") and utc(first[7]) == NOW - 2 * H
    (breach,) = store.alert_moments("sla_breach", since, 86400)
    assert breach[0] == "sla_breach" and breach[1].startswith("acme:sla_breach:") and "p@acme" not in breach[1]
    assert utc(breach[7]) == NOW - 6 * H and breach[8].endswith("no sales attempt within 24 hours")
    assert store.alert_moments("sla_breach", NOW - 5 * H, 86400) == []  # the breach is older than that
