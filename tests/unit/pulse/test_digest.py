"""The digest, pure: when it is due (PULSE_DIGEST_AT in the reporting time zone, DST included) and its HTML
(tiles month to date beside year to date, accounts escaped: a CRM's account name is never markup)."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from pulse.digest import Digest, message, next_run, render
from schemas.settings import Settings

UTC = timezone.utc


@pytest.mark.parametrize("now, at, tz, expected", [
    ("2026-12-02T06:00:00", "07:00", "UTC", "2026-12-02T07:00:00"),
    ("2026-12-02T07:00:00", "07:00", "UTC", "2026-12-03T07:00:00"),   # exactly at: the next day's
    ("2026-12-02T07:00:01", "07:00", "UTC", "2026-12-03T07:00:00"),
    ("2026-12-02T05:00:00", "07:00", "Europe/Berlin", "2026-12-02T06:00:00"),  # CET = UTC+1
    ("2026-07-02T04:00:00", "07:00", "Europe/Berlin", "2026-07-02T05:00:00"),  # CEST = UTC+2
    ("2026-03-28T07:00:00", "07:00", "Europe/Berlin", "2026-03-29T05:00:00"),  # the night clocks go forward
    ("2026-12-02T23:30:00", "00:15", "America/New_York", "2026-12-03T05:15:00"),
])
def test_the_next_digest_is_at_the_local_time(now, at, tz, expected):
    got = next_run(datetime.fromisoformat(now).replace(tzinfo=UTC), at, tz)
    assert got == datetime.fromisoformat(expected).replace(tzinfo=UTC)


HOSTILE = '<script>alert(1)</script> "Acme" & <img src=x onerror=alert(2)>'


def test_the_html_has_the_tiles_and_escapes_every_account_value():
    settings = Settings(dashboard_url="https://pulse.example", digest_to=("a@b.c",), currency="EUR")
    now = datetime(2026, 12, 2, 7, 0, tzinfo=UTC)
    d = Digest(now, datetime(2026, 12, 1, 7, 0, tzinfo=UTC), {"targets": 40, "aware": 30, "engaged": 12, "mqa": 3},
               {"mtd": {"minutes": 1234.5, "new_mqas": 2, "pipeline_created": Decimal("50000"),
                        "won": Decimal("12000.5"), "new_customers": 1},
                "ytd": {"minutes": 98765.0, "new_mqas": 31, "pipeline_created": Decimal("900000"),
                        "won": None, "new_customers": 9}},
               [("acme", HOSTILE, "Avery <x>", "1", now, Decimal("142.5"))], [])
    subject, page = render(d, settings)
    assert subject == "pulse daily digest · Wednesday 2 December 2026"
    assert page.count('class="tile"') == 10
    for text in ("1,234 min", "98,765 min", "€50,000.00", "€900,000.00", "€12,000.50", "—", ">31<", ">9<",
                 "40 target accounts: 30 aware, 12 engaged, 3 MQA", "Became MQA (1)", "None since the last digest"):
        assert text in page, text
    assert "<script>" not in page and "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &quot;Acme&quot; &amp; &lt;img" in page and "Avery &lt;x&gt;" in page
    assert 'href="https://pulse.example/account?account=acme"' in page
    msg = message(subject, page, settings)
    assert msg["To"] == "a@b.c" and msg.get_body(("html",)).get_content().strip() == page
