"""Traffic classes end to end (issue 19): hooks -> Kafka -> worker -> ClickHouse. The user agent is the
request's (a page cannot choose its own), a HEAD on an email link is a scanner's, an Apple MPP open is
flagged, internal people are kept with 0 minutes; a bot agent with a tab (control characters other than tab the HTTP parser refuses) and a huge
length is stored cleaned and cut; the Data-health view counts each class."""
from __future__ import annotations

import time
import urllib.parse
from datetime import datetime, timedelta, timezone
from decimal import Decimal

from conftest import sql_rows, wait_until
from hooks_helpers import call, post_json
from streams.tracking import tokens

LINK_SECRET = "traffic-link-secret"
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")


def test_each_class_is_stored_flagged_and_worth_nothing(settings, start):
    settings = settings.replace(link_secrets=(LINK_SECRET,), internal_domains=("ourco.example",))
    start("worker", settings)
    start("hooks", settings)
    at = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    view = lambda cookie: {"type": "page_view", "occurred_at": at, "url": "https://www.example.com/",  # noqa: E731
                           "anonymous_id": cookie, "user_agent": CHROME}
    # the body's agent is ignored on /collect: the header decides
    assert post_json(settings, "/collect", view("crawler"),
                     {"User-Agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"}).status == 202
    assert post_json(settings, "/collect", view("reader"), {"User-Agent": CHROME}).status == 202
    assert post_json(settings, "/collect", view("odd"), {"User-Agent": "curl/8.4.0\t" + "x" * 3000}).status == 202
    issued = int(time.time())

    def open_path(recipient: str) -> str:
        return urllib.parse.urlsplit(tokens.open_link(settings.hooks_url, LINK_SECRET, "nov", recipient, issued)).path

    assert call(settings, "GET", open_path("ana@acme.example"), headers={"User-Agent": "Mozilla/5.0"}).status == 200
    assert call(settings, "HEAD", open_path("bo@acme.example"), headers={"User-Agent": CHROME}).status == 200
    assert call(settings, "GET", open_path("me@ourco.example"), headers={"User-Agent": CHROME}).status == 200
    assert call(settings, "GET", open_path("cy@acme.example"), headers={"User-Agent": CHROME}).status == 200

    query = ("SELECT if(email != '', email, anonymous_id), traffic, traffic_reason, minutes, "
             "length(JSONExtractString(payload, 'user_agent')) FROM events ORDER BY 1")
    wait_until(lambda: len(sql_rows(settings, query)) == 7, 60, what="seven touches in ClickHouse")
    rows = sql_rows(settings, query)
    assert rows == [
        ("ana@acme.example", "privacy_proxy", "mpp:ua", Decimal("0.00"), 11),
        ("bo@acme.example", "scanner", "head_request", Decimal("0.00"), len(CHROME)),
        ("crawler", "bot", "ua:Googlebot", Decimal("0.00"), 72),
        ("cy@acme.example", "person", "", Decimal("1.00"), len(CHROME)),
        ("me@ourco.example", "internal", "internal_domain:ourco.example", Decimal("0.00"), len(CHROME)),
        ("odd", "bot", "ua:curl", Decimal("0.00"), 512),
        ("reader", "person", "", Decimal("1.00"), len(CHROME)),
    ]
    stored = sql_rows(settings, "SELECT JSONExtractString(payload, 'user_agent') FROM events WHERE anonymous_id = 'odd'")
    assert stored == [("curl/8.4.0?" + "x" * 501,)]
    shares = {t: n for _, t, n, _ in sql_rows(settings, "SELECT * FROM traffic_daily")}
    assert shares == {"person": 2, "bot": 2, "scanner": 1, "privacy_proxy": 1, "internal": 1}


def test_the_worker_flags_a_scraper_with_a_browsers_agent_by_its_rate(settings, start):
    """31 page views of one cookie in a calendar minute through /collect, with a browser's agent: the
    worker's traffic job flags all of them (rate:31/min) and takes their minutes back; 30 of another
    cookie stay a person's."""
    start("worker", settings)
    start("hooks", settings)
    minute = (datetime.now(timezone.utc) - timedelta(minutes=2)).replace(second=0, microsecond=0)

    def views(cookie: str, n: int) -> list[dict]:
        return [{"type": "page_view", "occurred_at": (minute + timedelta(seconds=i)).isoformat(),
                 "url": f"https://www.example.com/{i}", "anonymous_id": cookie, "engaged_seconds": 3}
                for i in range(n)]

    assert post_json(settings, "/collect", views("scraper", 31), {"User-Agent": CHROME}).status == 202
    assert post_json(settings, "/collect", views("reader", 30), {"User-Agent": CHROME}).status == 202
    query = ("SELECT anonymous_id, traffic, traffic_reason, sum(minutes), count() FROM events "
             "GROUP BY anonymous_id, traffic, traffic_reason ORDER BY anonymous_id")
    want = [("reader", "person", "", Decimal("30.00"), 30), ("scraper", "bot", "rate:31/min", Decimal("0.00"), 31)]
    wait_until(lambda: sql_rows(settings, query) == want, 120, 0.5, what="the scraper flagged by the traffic job")
    minutes = dict(sql_rows(settings, "SELECT person, sum(minutes) FROM engagement_person_daily GROUP BY person"))
    assert minutes == {"reader": Decimal("30.00"), "scraper": Decimal("0.00")}
