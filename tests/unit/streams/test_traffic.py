"""Traffic classification on the touch itself (issue 19): every class and reason, table-driven, with
real user agents as the bots, crawlers and clients publish them."""
from __future__ import annotations

import uuid
from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from schemas.events import EmailClick, EmailOpen, PageView
from schemas.registry import AccountRecord
from schemas.settings import Settings, SettingsError
from streams.core.registry import Registry
from streams.core.score import Scoring, rescore, score_event
from streams.core.traffic import (HEADLESS_MARKERS, SCANNER_MARKERS, Ranges, TrafficRules, Verdict, by_user_agent,
                                  classify)
from streams.core.weights import Weights
from streams.tracking.useragent import user_agent

AT = datetime(2026, 11, 25, 9, tzinfo=timezone.utc)
CHROME = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
          "Chrome/124.0.0.0 Safari/537.36")

# (user agent, expected class, expected reason): published agents of each kind
AGENTS = [
    ("Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)", "bot", "ua:Googlebot"),
    ("Mozilla/5.0 (compatible; bingbot/2.0; +http://www.bing.com/bingbot.htm)", "bot", "ua:bingbot"),
    ("Mozilla/5.0 (compatible; AhrefsBot/7.0; +http://ahrefs.com/robot/)", "bot", "ua:Ahrefs"),
    ("Slackbot-LinkExpanding 1.0 (+https://api.slack.com/robots)", "bot", "ua:Slackbot"),
    ("LinkedInBot/1.0 (compatible; Mozilla/5.0; Apache-HttpClient +http://www.linkedin.com)", "bot", "ua:LinkedInBot"),
    ("facebookexternalhit/1.1 (+http://www.facebook.com/externalhit_uatext.php)", "bot", "ua:facebookexternalhit"),
    ("Mozilla/5.0+(compatible; UptimeRobot/2.0; http://www.uptimerobot.com/)", "bot", "ua:UptimeRobot"),
    ("python-requests/2.31.0", "bot", "ua:python-requests"),
    ("curl/8.4.0", "bot", "ua:curl"),
    ("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) HeadlessChrome/120.0.6099.109 "
     "Safari/537.36", "bot", "headless:HeadlessChrome"),
    ("Mozilla/5.0 (Unknown; Linux x86_64) AppleWebKit/538.1 (KHTML, like Gecko) PhantomJS/2.1.1 Safari/538.1",
     "bot", "headless:PhantomJS"),
    ("Barracuda Sentinel (EE)", "scanner", "scanner_ua:Barracuda"),
    # people, and the webmail proxies that fetch when a person opens
    (CHROME, "person", ""),
    ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 "
     "Safari/605.1.15", "person", ""),
    ("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0", "person", ""),
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148",
     "person", ""),
    ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "person", ""),
    ("Mozilla/5.0", "person", ""),  # MPP's agent: a person's on the web, a proxy's on an email open (below)
]


@pytest.mark.parametrize("agent, traffic, reason", AGENTS, ids=[a[:40] for a, _, _ in AGENTS])
def test_user_agents_of_public_lists(agent, traffic, reason):
    event = PageView(event_id=uuid.uuid4(), occurred_at=AT, url="https://www.example.com/", user_agent=agent)
    assert classify(event, None, None, TrafficRules()) == Verdict(traffic, reason)


@pytest.mark.parametrize("marker", SCANNER_MARKERS + HEADLESS_MARKERS)
def test_every_marker_matches_whatever_its_case(marker):
    verdict = by_user_agent(f"Mozilla/5.0 (compatible; {marker.upper()}/1.0)")
    assert verdict.traffic in ("scanner", "bot") and verdict.reason.endswith(marker.rstrip("/"))


RULES = TrafficRules.of(internal_domains=["acme.com", " @corp.example "], internal_ranges=["10.0.0.0/8", "2001:db8::/32"])


def _open(ip: str | None = None, agent: str | None = CHROME, email: str = "ana@globex.example", **kw) -> EmailOpen:
    return EmailOpen(event_id=uuid.uuid4(), occurred_at=AT, email=email, campaign_id="nov", ip=ip, user_agent=agent,
                     **kw)


# (event, email as resolved, stored ip, class, reason)
CASES = {
    "internal domain": (_open(email="ana@acme.com"), "ana@acme.com", None, "internal", "internal_domain:acme.com"),
    "internal subdomain": (_open(), "bo@eu.acme.com", None, "internal", "internal_domain:acme.com"),
    "domain given with @": (_open(), "bo@corp.example", None, "internal", "internal_domain:corp.example"),
    "look-alike domain": (_open(), "bo@notacme.com", None, "person", ""),
    "internal IPv4 range": (_open(), None, "10.20.30.0", "internal", "internal_ip:10.0.0.0/8"),
    "internal IPv6 range": (_open(), None, "2001:db8:1::", "internal", "internal_ip:2001:db8::/32"),
    "outside the ranges": (_open(), None, "11.0.0.0", "person", ""),
    "internal wins over a bot agent": (_open(agent="curl/8.4.0"), "x@acme.com", None, "internal",
                                       "internal_domain:acme.com"),
    "MPP by Apple's range": (_open(agent="Mozilla/5.0"), None, "17.58.101.0", "privacy_proxy", "mpp:17.0.0.0/8"),
    "MPP range, any agent": (_open(agent=None), None, "17.1.2.0", "privacy_proxy", "mpp:17.0.0.0/8"),
    "MPP by its bare agent": (_open(agent="Mozilla/5.0"), None, "203.0.113.0", "privacy_proxy", "mpp:ua"),
    "Apple Mail without MPP": (_open(agent="Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 "
                                           "(KHTML, like Gecko)"), None, "203.0.113.0", "person", ""),
    "Apple's range on a click": (EmailClick(event_id=uuid.uuid4(), occurred_at=AT, email="a@b.example",
                                            campaign_id="nov", url="https://x.example/", user_agent=CHROME),
                                 None, "17.58.101.0", "person", ""),
    "HEAD request": (_open(properties={"request_method": "HEAD"}), None, None, "scanner", "head_request"),
    "scanner agent on an open": (_open(agent="Barracuda Sentinel (EE)"), None, "17.1.2.0", "scanner",
                                 "scanner_ua:Barracuda"),
}


@pytest.mark.parametrize("case", CASES)
def test_classes_and_reasons(case):
    event, email, ip, traffic, reason = CASES[case]
    assert classify(event, email, ip, RULES) == Verdict(traffic, reason)


def test_ranges_name_the_narrowest_match_and_ignore_garbage():
    ranges = Ranges(["17.0.0.0/8", "17.58.0.0/16", "2a01:b740::/32"])
    assert ranges.match("17.58.3.0") == "17.58.0.0/16"
    assert ranges.match("17.1.0.0") == "17.0.0.0/8"
    assert ranges.match("2a01:b740:a::") == "2a01:b740::/32"
    assert ranges.match("not an address") is None and ranges.match("") is None


def _scoring(rules: TrafficRules = RULES, weights: Weights = Weights()) -> Scoring:
    registry = Registry()
    registry.upsert_account(AccountRecord(account_id="globex", domains=("globex.example",)))
    return Scoring(registry, weights, ZoneInfo("UTC"), traffic=rules)


def test_a_flagged_touch_is_kept_with_0_minutes_and_no_success():
    row = score_event(_open(agent="Barracuda Sentinel (EE)"), _scoring(), AT)
    assert (row.account_id, row.traffic, row.traffic_reason, row.minutes, row.success) == (
        "globex", "scanner", "scanner_ua:Barracuda", Decimal("0.00"), 0)
    person = score_event(_open(), _scoring(), AT)
    assert (person.traffic, person.minutes, person.success) == ("person", Decimal("1.00"), 1)


def test_a_person_spoofing_a_bot_agent_only_loses_their_own_minutes():
    scoring = _scoring()
    spoofed = score_event(PageView(event_id=uuid.uuid4(), occurred_at=AT, url="https://www.example.com/",
                                   email="eve@globex.example", user_agent="Googlebot/2.1"), scoring, AT)
    other = score_event(PageView(event_id=uuid.uuid4(), occurred_at=AT, url="https://www.example.com/",
                                 email="ana@globex.example", user_agent=CHROME), scoring, AT)
    assert (spoofed.person, spoofed.minutes, spoofed.traffic) == ("eve@globex.example", Decimal("0.00"), "bot")
    assert (other.person, other.minutes, other.traffic) == ("ana@globex.example", Decimal("1.00"), "person")


def test_mpp_opens_may_be_weighed_in_weights_toml(tmp_path):
    path = tmp_path / "weights.toml"
    path.write_text("[traffic]\nprivacy_proxy = 0.5\n")
    row = score_event(_open(agent="Mozilla/5.0"), _scoring(weights=Weights.load(path)), AT)
    assert (row.traffic, row.minutes, row.success) == ("privacy_proxy", Decimal("0.50"), 0)
    path.write_text("[traffic]\nbot = 1\n")
    with pytest.raises(ValueError, match="privacy_proxy only"):
        Weights.load(path)


def test_rescoring_keeps_a_behaviour_verdict_and_a_new_one_replaces_it():
    scoring = _scoring()
    row = score_event(_open(), scoring, AT, Verdict("scanner", "scanner:within_10s_of_first_open"))
    assert (row.traffic, row.minutes) == ("scanner", Decimal("0.00"))
    assert rescore(row, scoring) is None                      # re-scored for another reason: kept
    back = rescore(row, scoring, None)                        # the rule no longer holds
    assert (back.traffic, back.minutes, back.success, back.prev_success, back.retracts) == (
        "person", Decimal("1.00"), 1, 0, 1)


def test_the_stored_address_decides_so_a_rescore_agrees():
    """Live, the full address is truncated before the IP rules: the stored touch re-scores the same."""
    rules = TrafficRules.of(internal_ranges=["192.0.2.0/24"])
    row = score_event(_open(ip="192.0.2.77"), _scoring(rules), AT)
    assert (row.ip, row.traffic, row.traffic_reason) == ("192.0.2.0", "internal", "internal_ip:192.0.2.0/24")
    assert rescore(row, _scoring(rules)) is None


def test_a_changed_rule_changes_the_fingerprint():
    assert TrafficRules().fingerprint() == TrafficRules().fingerprint()
    assert TrafficRules().fingerprint() != TrafficRules.of(internal_domains=["acme.com"]).fingerprint()
    assert TrafficRules().fingerprint() != TrafficRules.of(scanner_seconds=5).fingerprint()
    assert TrafficRules().fingerprint() != TrafficRules.of(max_views_per_minute=31).fingerprint()


HEADERS = {
    "plain": ("Googlebot/2.1", "Googlebot/2.1"),
    "control characters": ("Mozilla/5.0\x00\x1b[31m\x7fX", "Mozilla/5.0??[31m?X"),
    "injected header line": ("Mozilla/5.0\r\nX-Evil: 1", "Mozilla/5.0??X-Evil: 1"),
    "long": ("A" * 5000, "A" * 512),
    "empty": ("", None),
}


@pytest.mark.parametrize("case", HEADERS)
def test_the_header_is_stored_safely_and_length_capped(case):
    raw, stored = HEADERS[case]
    assert user_agent({"User-Agent": raw}) == stored


@pytest.mark.parametrize("env, message", [
    ({"PULSE_INTERNAL_IP_RANGES": "10.0.0.0/8,not-a-range"}, "PULSE_INTERNAL_IP_RANGES"),
    ({"PULSE_BOT_MAX_VIEWS_PER_MINUTE": "0"}, "PULSE_BOT_MAX_VIEWS_PER_MINUTE"),
    ({"PULSE_SCANNER_SECONDS": "-1"}, "PULSE_SCANNER_SECONDS"),
    ({"PULSE_MPP_IP_RANGES_FILE": "/nonexistent/ranges.csv"}, "PULSE_MPP_IP_RANGES_FILE"),
])
def test_bad_traffic_settings_are_refused_by_name(env, message):
    with pytest.raises(SettingsError, match=message):
        Settings.from_env(env).check()


def test_an_mpp_ranges_file_adds_to_the_shipped_list(tmp_path):
    csv = tmp_path / "egress-ip-ranges.csv"
    csv.write_text("172.224.226.0/27,GB,GB-EN,London,\n# a comment\n\n2a02:26f7:b3c0:4000::/64,GB,GB-EN,London,\n")
    settings = Settings.from_env({"PULSE_MPP_IP_RANGES_FILE": str(csv), "PULSE_INTERNAL_DOMAINS": "acme.com"})
    settings.check()
    from streams.traffic_job import rules_of

    rules = rules_of(settings)
    assert rules.mpp_ranges.match("172.224.226.0") == "172.224.226.0/27"
    assert rules.mpp_ranges.match("17.0.0.0") == "17.0.0.0/8"
    assert rules.internal_domains == frozenset({"acme.com"})
