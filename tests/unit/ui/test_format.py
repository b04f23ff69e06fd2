"""The dashboard's plain-words formatting (pure functions)."""
from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
import pytest

from ui.auth import password_ok
from ui.format import (age_seconds, ago, daily_series, days, describe_reasons, duration, evaluation_scope, filter_params,
                       minutes, money, rate, rebuild_progress, share, web_link, week_delta)

NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("seconds, text", [
    (-3, "0 s ago"), (2, "2 s ago"), (89, "89 s ago"), (90, "2 min ago"), (45 * 60, "45 min ago"),
    (90 * 60, "2 h ago"), (35 * 3600, "35 h ago"), (36 * 3600, "2 days ago"),
])
def test_ago(seconds, text):
    assert ago(seconds) == text


@pytest.mark.parametrize("latest, age", [
    (pd.Timestamp("2026-11-25 11:59:58"), 2.0),                     # naive from the engine = UTC
    (pd.Timestamp("2026-11-25 11:59:00", tz="UTC"), 60.0),
    (pd.Timestamp("1970-01-01 00:00:00"), None),                    # max() over no rows
    (None, None), (pd.NaT, None),
])
def test_age_seconds(latest, age):
    assert age_seconds(latest, NOW) == age


def test_share_and_minutes():
    assert share(2, 3) == "67% of targets" and share(0, 0) == "no targets yet"
    assert minutes(163) == "163 min" and minutes(11) == "11.0 min" and minutes(12345.5) == "12,346 min"


@pytest.mark.parametrize("raw, text", [
    ('[{"field": "occurred_at", "reason": "not a time"}, {"field": "url", "reason": "missing"}]',
     "occurred_at: not a time; url: missing"),
    ('[{"field": "", "reason": "not JSON"}]', "not JSON"),
    ("[]", "no reason recorded"),
    ("not json at all", "not json at all"),
])
def test_describe_reasons(raw, text):
    assert describe_reasons(raw) == text


def test_daily_series_fills_the_days_without_minutes():
    rows = pd.DataFrame({"account_id": ["a", "a", "b", "a"],
                         "day": [date(2026, 11, 25), date(2026, 11, 23), date(2026, 11, 25), date(2026, 10, 1)],
                         "minutes": [5.0, 2.5, 1.0, 99.0]})
    series = daily_series(rows, ["a", "b", "c"], date(2026, 11, 25), days=4)
    #                 11-22 11-23 11-24 11-25      (10-01 is outside the window)
    assert series == {"a": [0.0, 2.5, 0.0, 5.0], "b": [0.0, 0.0, 0.0, 1.0], "c": [0.0] * 4}
    assert daily_series(pd.DataFrame(), ["a"], date(2026, 11, 25), days=2) == {"a": [0.0, 0.0]}


def test_filter_params_empty_choice_means_all():
    p = filter_params([], ["Avery"], None, ["web", "email"], "  acme ", 50)
    assert p["all_tiers"] == 1 and p["tiers"] == ("",)
    assert p["all_owners"] == 0 and p["owners"] == ("Avery",)
    assert p["all_stages"] == 1 and p["all_channels"] == 0 and p["channels"] == ("web", "email")
    assert p["search"] == "acme" and p["limit"] == 50


def test_password_ok():
    assert password_ok("s3cret", "s3cret")
    assert not password_ok("s3cre", "s3cret") and not password_ok("", "s3cret")


@pytest.mark.parametrize("starts, delta", [
    (pd.Timestamp("2026-10-01"), 4),        # history older than a week: 14 now - 10 then
    (pd.Timestamp("2026-11-18 12:00"), 4),  # exactly a week
    (pd.Timestamp("2026-11-20"), None),     # history younger than a week: no change shown
    (None, None), (pd.NaT, None),           # no stage change recorded at all
])
def test_week_delta_only_when_the_history_reaches_back(starts, delta):
    then = {"as_of": pd.Timestamp("2026-11-18 12:00"), "mqa": 10, "history_starts": starts}
    assert week_delta(14, then, "mqa") == delta
    assert week_delta(14, None, "mqa") is None


def test_money_rate_and_days_are_exact_and_say_when_empty():
    from decimal import Decimal

    assert money(Decimal("2500"), "USD") == "$2,500.00" and money(Decimal("0.005"), "EUR") == "€0.01"
    assert money(Decimal("1234567.8"), "CHF") == "1,234,567.80 CHF"
    assert money(None, "USD") == "—" and money(float("nan"), "USD") == "—"
    assert rate(Decimal("0.6667")) == "66.67%" and rate(Decimal("1")) == "100.00%" and rate(None) == "—"
    # an ROI runs into the thousands: separated like money, as the tables' PERCENT_FORMAT shows it
    assert rate(Decimal("47.3749")) == "4,737.49%" and rate(Decimal("-1.0000")) == "-100.00%"
    assert days(Decimal("33.33")) == "33.33 days" and days(Decimal("10.00")) == "10 days" and days(1) == "1 day"
    assert days(None) == "—"


def test_a_stage_evaluation_in_words():
    assert duration(400) == "0.4 s" and duration(65_000) == "65.0 s" and duration(125_000) == "2 min 5 s"
    assert duration(-5) == "0.0 s"
    assert evaluation_scope("changed", 812).startswith("812 accounts whose engagement changed")
    assert evaluation_scope("changed", 1).startswith("1 account whose")
    assert evaluation_scope("full", 100_000).startswith("100,000 accounts: every account")
    assert "new day" in evaluation_scope("day", 3) and evaluation_scope("", 7) == "7 accounts"
    assert "more" not in evaluation_scope("day", 3) and "; 41,200 more" in evaluation_scope("day", 3, 41_200)


def test_a_full_evaluations_progress_names_the_step_it_is_on():
    assert rebuild_progress(52, True, 52, 12, 0) == (64 / 156, "rebuilding every person's sums: 64 of 156 slices done")
    assert rebuild_progress(52, True, 0, 0, 0) == (0.0, "re-folding every person-day's minutes: 0 of 156 slices done")
    # no re-fold (a contacts import): two steps; every slice done, before its mark is written
    assert rebuild_progress(4, False, 0, 4, 1) == (5 / 8, "deciding every account: 5 of 8 slices done")
    assert rebuild_progress(4, False, 0, 4, 4) == (1.0, "deciding every account: 8 of 8 slices done")


@pytest.mark.parametrize("sent", [
    "javascript:alert(document.cookie)", "  JavaScript:alert(1)", "\x01javascript:alert(1)", "vbscript:msgbox(1)",
    "data:text/html,<script>alert(1)</script>", "//evil.example/x", "/relative/page", "evil.example", "", None,
    float("nan"), 42])
def test_a_hostile_page_url_never_becomes_a_link(sent):
    # a page event's url comes from the public /collect: the Account page's "Page" column is a link
    assert web_link(sent) is None


def test_a_web_page_url_stays_a_link():
    assert web_link("https://www.example.com/pricing?x=1") == "https://www.example.com/pricing?x=1"
    assert web_link("HTTP://Example.com/") == "HTTP://Example.com/"
