"""Traffic classification on the real engine (issue 19): flagged touches are stored with 0 minutes and
no success, stay out of reach and awareness; the behaviour rules at their boundaries, under every
arrival order; reclassification after a changed setting is exact (the sums equal a fresh scoring)."""
from __future__ import annotations

import random
import uuid
from datetime import timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from schemas.events import EmailClick, EmailOpen, PageView
from streams import attribution, traffic_job
from streams.core.score import score
from streams.core.traffic import TrafficRules
from streams.core.weights import Weights
from tests.traffic_cases import (CHROME, GOOGLEBOT, NOW, T0, mail_touch, page_view, query_rows,
                                 traffic_setup)


def test_a_bot_touch_is_stored_flagged_with_0_minutes_and_out_of_reach(engine):
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    person = EmailOpen(event_id=uuid.uuid4(), occurred_at=T0, email="ana@acme.example", campaign_id="nov",
                       user_agent=CHROME)
    bot = EmailOpen(event_id=uuid.uuid4(), occurred_at=T0, email="bo@acme.example", campaign_id="nov",
                    user_agent="Barracuda Sentinel (EE)")
    crawler = PageView(event_id=uuid.uuid4(), occurred_at=T0, url="https://www.example.com/", email="bo@acme.example",
                       user_agent=GOOGLEBOT)
    writer.write(score([person, bot, crawler], scoring, NOW))
    rows = query_rows(client, "SELECT email, type, traffic, traffic_reason, minutes, success FROM {db}.events "
                        "ORDER BY email, type", settings.database)
    assert rows == [("ana@acme.example", "email_open", "person", "", Decimal("1.00"), 1),
                    ("bo@acme.example", "email_open", "scanner", "scanner_ua:Barracuda", Decimal("0.00"), 0),
                    ("bo@acme.example", "page_view", "bot", "ua:Googlebot", Decimal("0.00"), 0)]
    # the bot's touches are counted as touches, but add no minutes and no reach
    assert query_rows(client, "SELECT person, minutes, touches, successes FROM {db}.engagement_person_daily "
                        "ORDER BY person, channel", settings.database) == [
        ("ana@acme.example", Decimal("1.00"), 1, 1), ("bo@acme.example", Decimal("0.00"), 1, 0),
        ("bo@acme.example", Decimal("0.00"), 1, 0)]
    assert query_rows(client, "SELECT program_id, target_accounts_reached FROM {db}.program_reach",
                settings.database) == [("nov", 1)]
    daily = dict(((t, (n, s)) for _, t, n, s in query_rows(client, "SELECT * FROM {db}.traffic_daily", settings.database)))
    assert daily == {"person": (1, 33.3), "scanner": (1, 33.3), "bot": (1, 33.3)}


def test_internal_traffic_is_out_of_reach_and_awareness(engine):
    client, settings = engine
    writer, scoring = traffic_setup(engine, TrafficRules.of(internal_domains=["acme.example"]))
    open_ = EmailOpen(event_id=uuid.uuid4(), occurred_at=T0, email="ana@acme.example", campaign_id="nov",
                      user_agent=CHROME)
    writer.write(score([open_], scoring, NOW))
    assert query_rows(client, "SELECT traffic, traffic_reason, minutes, success FROM {db}.events", settings.database) == [
        ("internal", "internal_domain:acme.example", Decimal("0.00"), 0)]
    assert query_rows(client, "SELECT count() FROM {db}.channel_awareness", settings.database) == [(0,)]
    assert query_rows(client, "SELECT target_accounts_reached FROM {db}.program_reach", settings.database) == [(0,)]


def _minutes(client, database: str) -> dict:
    return dict(query_rows(client, "SELECT person, sum(minutes) FROM {db}.engagement_person_daily GROUP BY person",
                     database))


def test_reclassification_after_a_changed_setting_is_exact(engine):
    """Stored under no internal domain, re-scored under one, then back: the sums are those of a fresh
    scoring each time, and the program successes follow."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    events = [EmailOpen(event_id=uuid.uuid4(), occurred_at=T0, email=f"p{i}@acme.example", campaign_id="nov",
                        user_agent=CHROME) for i in range(4)]
    events += [EmailClick(event_id=uuid.uuid4(), occurred_at=T0 + timedelta(minutes=5), email="p0@acme.example",
                          campaign_id="nov", url="https://www.example.com/a", user_agent=CHROME)]
    writer.write(score(events, scoring, NOW))
    before = _minutes(client, settings.database)
    assert before["p0@acme.example"] == Decimal("3.00")
    scoring.traffic = TrafficRules.of(internal_domains=["acme.example"])
    assert attribution.reattribute(writer, "1", {}, scoring) == 5
    assert set(_minutes(client, settings.database).values()) == {Decimal("0.00")}
    assert query_rows(client, "SELECT sum(successes) FROM {db}.engagement_daily WHERE kind = 'touch'",
                settings.database) == [(0,)]
    assert attribution.reattribute(writer, "1", {}, scoring) == 0       # nothing changed: nothing written
    scoring.traffic = TrafficRules()
    assert attribution.reattribute(writer, "1", {}, scoring) == 5
    assert _minutes(client, settings.database) == before
    assert query_rows(client, "SELECT sum(successes) FROM {db}.engagement_daily WHERE kind = 'touch'",
                settings.database) == [(5,)]


def _rate_case(writer, scoring, views: int, cookie: str, start: int) -> None:
    """`views` page views of one cookie within one calendar minute, in a shuffled arrival order."""
    minute = T0.replace(second=0)
    events = [page_view(start + i, minute + timedelta(seconds=i * 59 / max(views, 1)), cookie, engaged_seconds=5)
              for i in range(views)]
    random.Random(views).shuffle(events)
    for part in (events[: views // 2], events[views // 2:]):   # two batches, out of order
        writer.write(score(part, scoring, NOW))


def test_rate_rule_at_its_boundary_under_any_arrival_order(engine):
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    _rate_case(writer, scoring, 30, "thirty", 1000)
    _rate_case(writer, scoring, 31, "thirty-one", 2000)
    since = traffic_job.first_day(NOW, ZoneInfo("UTC"), 2)
    assert traffic_job.reclassify(writer, scoring, since) == 31
    assert traffic_job.reclassify(writer, scoring, since) == 0        # a second pass changes nothing
    rows = query_rows(client, "SELECT anonymous_id, traffic, traffic_reason, sum(minutes), count() FROM {db}.events "
                        "GROUP BY anonymous_id, traffic, traffic_reason ORDER BY anonymous_id", settings.database)
    assert rows == [("thirty", "person", "", Decimal("30.00"), 30),
                    ("thirty-one", "bot", "rate:31/min", Decimal("0.00"), 31)]
    assert _minutes(client, settings.database) == {"thirty": Decimal("30.00"), "thirty-one": Decimal("0.00")}
    # a replay of the same views changes nothing
    _rate_case(writer, scoring, 31, "thirty-one", 2000)
    assert traffic_job.reclassify(writer, scoring, since) == 0
    # a person spoofing nothing keeps their minutes; a bot with a person's agent was caught by behaviour
    assert _minutes(client, settings.database)["thirty-one"] == Decimal("0.00")


def test_a_cookie_that_never_engages_is_a_bot_and_a_late_heartbeat_gives_it_back(engine):
    from schemas.events import PageEngagement

    client, settings = engine
    writer, scoring = traffic_setup(engine)
    views = [page_view(3000 + i, T0 + timedelta(minutes=i), "idle") for i in range(3)]
    writer.write(score(views, scoring, NOW))
    since = traffic_job.first_day(NOW, ZoneInfo("UTC"), 2)
    assert traffic_job.reclassify(writer, scoring, since) == 3
    assert query_rows(client, "SELECT DISTINCT traffic_reason FROM {db}.events", settings.database) == [("no_engaged_seconds",)]
    beat = PageEngagement(event_id=uuid.uuid4(), occurred_at=T0 + timedelta(minutes=4), anonymous_id="idle",
                          page_view_id=views[0].event_id, engaged_seconds=12)
    writer.write(score([beat], scoring, NOW))
    assert traffic_job.reclassify(writer, scoring, since) == 3
    assert _minutes(client, settings.database) == {"idle": Decimal("3.00")}
    # a reader without scripts (the /p.gif pixel) never reports engaged time: not judged by it
    pixel = [page_view(3100 + i, T0 + timedelta(minutes=i), "no-script", source="pixel") for i in range(4)]
    writer.write(score(pixel, scoring, NOW))
    assert traffic_job.reclassify(writer, scoring, since) == 0


def test_scanner_timing_at_its_boundary(engine):
    """A click 10 s after the first open is a scanner's (and so is that open); 10.001 s is a person's."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    events = [mail_touch(1, "open", T0, who="fast@acme.example"),
              mail_touch(2, "click", T0 + timedelta(seconds=10), who="fast@acme.example"),
              mail_touch(3, "open", T0, who="slow@acme.example"),
              mail_touch(4, "click", T0 + timedelta(seconds=10, milliseconds=1), who="slow@acme.example")]
    for event in reversed(events):  # clicks before their opens
        writer.write(score([event], scoring, NOW))
    since = traffic_job.first_day(NOW, ZoneInfo("UTC"), 2)
    assert traffic_job.reclassify(writer, scoring, since) == 2
    rows = query_rows(client, "SELECT email, type, traffic, traffic_reason, minutes FROM {db}.events ORDER BY email, type",
                settings.database)
    assert rows == [("fast@acme.example", "email_click", "scanner", "scanner:within_10s_of_first_open", Decimal("0.00")),
                    ("fast@acme.example", "email_open", "scanner", "scanner:click_within_10s_of_open", Decimal("0.00")),
                    ("slow@acme.example", "email_click", "person", "", Decimal("2.00")),
                    ("slow@acme.example", "email_open", "person", "", Decimal("1.00"))]


def test_every_link_clicked_within_seconds_is_a_scanner(engine):
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    clicks = [mail_touch(10 + i, "click", T0 + timedelta(seconds=2 * i), url=f"https://www.example.com/{i}")
              for i in range(3)]
    writer.write(score(clicks, scoring, NOW))
    since = traffic_job.first_day(NOW, ZoneInfo("UTC"), 2)
    assert traffic_job.reclassify(writer, scoring, since) == 3
    assert query_rows(client, "SELECT DISTINCT traffic_reason FROM {db}.events", settings.database) == [
        ("scanner:links_within_10s",)]
    # the same three links a minute apart: a person reading
    scoring.traffic = TrafficRules.of(scanner_seconds=1.0)
    assert traffic_job.reclassify(writer, scoring, since) == 3
    assert _minutes(client, settings.database) == {"ana@acme.example": Decimal("6.00")}


def test_the_account_timeline_shows_each_touchs_class_and_reason(engine):
    from ui import queries

    client, settings = engine
    writer, scoring = traffic_setup(engine)
    bot = PageView(event_id=uuid.uuid4(), occurred_at=T0, url="https://www.example.com/", email="bo@acme.example",
                   user_agent=GOOGLEBOT)
    person = PageView(event_id=uuid.uuid4(), occurred_at=T0 + timedelta(seconds=1), url="https://www.example.com/",
                      email="ana@acme.example", user_agent=CHROME)
    writer.write(score([bot, person], scoring, NOW))
    sql = queries.ACCOUNT_TIMELINE.replace(" account_touches", f" {settings.database}.account_touches")
    rows = client.query(sql, parameters={"account": "acme"}).result_rows
    assert [(r[3], r[4], r[-2], r[-1]) for r in rows] == [("ana@acme.example", 1.0, "person", ""),
                                                          ("bo@acme.example", 0.0, "bot", "ua:Googlebot")]


def test_a_changed_rule_is_found_at_start_and_a_rescore_applies_every_rule(engine):
    """The worker compares the stored fingerprint at start (a new list or setting re-scores history);
    `pulse rescore` re-scores with the rules on the touch and then runs the behaviour pass."""
    from types import SimpleNamespace

    from streams.registry_changes import rescore_stored

    client, settings = engine
    writer, scoring = traffic_setup(engine)
    store = writer.store
    refolds = lambda: query_rows(client, "SELECT count() FROM {db}.engagement_changes WHERE scope = 'refold_all'",  # noqa: E731
                           settings.database)[0][0]
    migrated = refolds()  # (migrations that change the kept rollups stamp one each)
    assert attribution.record_weights(store, Weights(), TrafficRules()) is False       # first start
    first = refolds()
    assert attribution.record_weights(store, Weights(), TrafficRules()) is False       # unchanged
    # a restart with the same settings writes nothing, so it asks for no re-fold of every account-day
    assert first == migrated + 1 and refolds() == migrated + 1
    assert attribution.record_weights(store, Weights(), TrafficRules.of(scanner_seconds=5)) is True
    assert refolds() == migrated + 2
    writer.write(score([mail_touch(60, "open", T0), mail_touch(61, "click", T0 + timedelta(seconds=4)),
                        mail_touch(62, "open", T0, who="me@ourco.example")], scoring, NOW))
    scoring.traffic = TrafficRules.of(internal_domains=["ourco.example"], scanner_seconds=5)
    assert rescore_stored(SimpleNamespace(writer=writer, scoring=scoring), 400) == 3
    assert query_rows(client, "SELECT email, type, traffic, traffic_reason FROM {db}.events ORDER BY email, type",
                settings.database) == [
        ("ana@acme.example", "email_click", "scanner", "scanner:within_5s_of_first_open"),
        ("ana@acme.example", "email_open", "scanner", "scanner:click_within_5s_of_open"),
        ("me@ourco.example", "email_open", "internal", "internal_domain:ourco.example")]


def test_two_opens_in_the_same_millisecond_have_one_first_open_whatever_the_order(engine):
    """Which open is the first decides the reasons; two at the same instant are told apart by their id
    (the smaller), never by which the engine met first (stored in either order, judged alike)."""
    client, settings = engine
    writer, scoring = traffic_setup(engine)
    since = traffic_job.first_day(NOW, ZoneInfo("UTC"), 2)
    for who, order in (("a@acme.example", (71, 70)), ("b@acme.example", (80, 81))):
        for n in order:  # one batch each, the larger id first for a
            writer.write(score([mail_touch(n, "open", T0, who=who)], scoring, NOW))
        writer.write(score([mail_touch(order[0] + 100, "click", T0 + timedelta(seconds=3), who=who)], scoring, NOW))
    traffic_job.reclassify(writer, scoring, since)
    rows = query_rows(client, "SELECT email, event_id, traffic_reason FROM {db}.events WHERE type = 'email_open' "
                        "ORDER BY email, event_id", settings.database)
    assert [r[2] for r in rows] == ["scanner:click_within_10s_of_open", "scanner:within_10s_of_first_open"] * 2
