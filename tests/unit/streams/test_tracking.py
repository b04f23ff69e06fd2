"""The pure parts of the hooks: link tokens, webhook signatures, client IP, rate limit, origins, pixels."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest

from streams.tracking import pixels, signatures, tokens
from streams.tracking.clientip import ClientIp
from streams.tracking.origins import Origins
from streams.tracking.ratelimit import RateLimiter

DAY = 86400
T0 = 1_764_000_000


# -- link tokens ---------------------------------------------------------------------------------

def test_token_round_trip_and_rotation():
    token = tokens.sign("new", tokens.Claims("nov", "ana@acme.example", T0, "https://x.example/wp"))
    assert tokens.verify(("new", "old"), token, T0 + 10, 30 * DAY) == tokens.Claims("nov", "ana@acme.example", T0,
                                                                                   "https://x.example/wp")
    old = tokens.sign("old", tokens.Claims("nov", "bob@acme.example", T0))
    assert tokens.verify(("new", "old"), old, T0, 30 * DAY).recipient == "bob@acme.example"
    assert "signature" in tokens.verify(("new",), old, T0, 30 * DAY).reason


@pytest.mark.parametrize("token", ["", "a.b.c", "nodot", "!!!.???", "AAAA.AAAA", "x" * 5000, "é.é"])
def test_garbage_tokens_are_bad_tokens_with_a_reason(token):
    result = tokens.verify(("k",), token, T0, DAY)
    assert isinstance(result, tokens.BadToken) and result.reason


def test_expired_token_keeps_its_signed_claims_but_does_not_count():
    token = tokens.sign("k", tokens.Claims("nov", "ana@acme.example", T0, "https://x.example/wp"))
    result = tokens.verify(("k",), token, T0 + 31 * DAY, 30 * DAY)
    assert isinstance(result, tokens.BadToken) and "older than 30 days" in result.reason
    assert tokens.destination(result, "https://evil.example/", frozenset()) == "https://x.example/wp"


def test_no_secret_means_no_valid_token():
    token = tokens.sign("k", tokens.Claims("nov", "a@b.example", T0))
    assert "PULSE_LINK_SECRET" in tokens.verify((), token, T0, DAY).reason


@pytest.mark.parametrize("url, allowed", [
    ("https://docs.example.com/guide", True),
    ("http://DOCS.example.com/", True),
    ("https://docs.example.com.evil.example/", False),
    ("https://evil.example/?docs.example.com", False),
    ("//docs.example.com/", False),
    ("javascript:alert(1)//docs.example.com", False),
    ("https://docs.example.com\\@evil.example/", False),
    ("ftp://docs.example.com/", False),
    (None, False),
])
def test_click_destination_without_a_signed_url_must_be_allow_listed(url, allowed):
    claims = tokens.Claims("nov", "a@b.example", T0)
    target = tokens.destination(claims, url, frozenset({"docs.example.com"}))
    assert target == (url if allowed else None)


def test_a_signed_url_that_is_not_a_web_url_is_never_a_destination():
    claims = tokens.Claims("nov", "a@b.example", T0, "javascript:alert(1)")
    assert tokens.destination(claims, None, frozenset()) is None


# -- webhook signatures ----------------------------------------------------------------------------

def test_signature_matches_the_documented_recipe():
    import hashlib
    import hmac

    body = b'[{"type": "call"}]'
    expected = "sha256=" + hmac.new(b"s", b"1764000000." + body, hashlib.sha256).hexdigest()
    assert signatures.sign("s", T0, body) == expected
    assert signatures.check(("s",), expected, str(T0), body, T0 + 299) is None


@pytest.mark.parametrize("secrets, sig, ts, now, reason", [
    ((), "sha256=00", str(T0), T0, "no shared secret"),
    (("s",), None, str(T0), T0, "missing"),
    (("s",), "sha256=00", "yesterday", T0, "unix seconds"),
    (("s",), "sha256=00", str(T0), T0 + 301, "5 minutes"),
    (("s",), "sha256=00", str(T0), T0 - 301, "5 minutes"),
    (("s",), "md5=00", str(T0), T0, "sha256="),
    (("s",), "sha256=00", str(T0), T0, "64 hex digits"),
    (("s",), "sha256=" + "0" * 64, str(T0), T0, "does not match"),
])
def test_bad_signatures_say_why(secrets, sig, ts, now, reason):
    assert reason in signatures.check(secrets, sig, ts, b"{}", now)


# -- client IP -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("trusted, peer, xff, client", [
    ((), "203.0.113.5", "1.2.3.4", "203.0.113.5"),                          # no proxy trusted: header ignored
    (("10.0.0.0/8",), "203.0.113.5", "1.2.3.4", "203.0.113.5"),             # peer is not our proxy
    (("10.0.0.0/8",), "10.0.0.2", "198.51.100.7", "198.51.100.7"),          # one proxy
    (("10.0.0.0/8",), "10.0.0.2", "6.6.6.6, 198.51.100.7, 10.0.0.9", "198.51.100.7"),  # forged left part ignored
    (("10.0.0.0/8",), "10.0.0.2", "10.0.0.8, 10.0.0.9", "10.0.0.8"),        # all ours: the leftmost
    (("10.0.0.0/8",), "10.0.0.2", "garbage, 198.51.100.7", "198.51.100.7"),
    (("10.0.0.0/8",), "10.0.0.2", "198.51.100.7, garbage", "10.0.0.2"),     # our proxy wrote garbage: the peer
    (("10.0.0.0/8",), "::ffff:10.0.0.2", "2001:db8::7", "2001:db8::7"),     # IPv4-mapped peer
    (("10.0.0.0/8",), "10.0.0.2", "", "10.0.0.2"),
])
def test_client_ip_follows_trusted_proxies(trusted, peer, xff, client):
    assert ClientIp(trusted)(peer, xff) == client


# -- rate limit ---------------------------------------------------------------------------------------------

def test_token_bucket_timeline():
    # rate 1/s, burst 3:   t=0: 3 pass, 4th refused | t=1: one more | t=10: refilled to 3, not more
    limiter = RateLimiter(rate=1.0, burst=3)
    assert [limiter.allow("a", 0.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.allow("b", 0.0)                       # another client has its own bucket
    assert [limiter.allow("a", 1.0) for _ in range(2)] == [True, False]
    assert [limiter.allow("a", 10.0) for _ in range(4)] == [True, True, True, False]
    assert limiter.retry_after("a") == pytest.approx(1.0)


def test_ipv6_clients_share_a_bucket_per_64_and_memory_is_bounded():
    limiter = RateLimiter(rate=1.0, burst=1, max_clients=100)
    assert limiter.allow("2001:db8:1:2::1", 0.0)
    assert not limiter.allow("2001:db8:1:2::ffff", 0.0)
    assert limiter.allow("2001:db8:1:3::1", 0.0)
    for i in range(1000):
        limiter.allow(f"198.51.{i // 250}.{i % 250}", float(i) / 1000)
    assert len(limiter) <= 100


def test_rate_zero_is_off():
    limiter = RateLimiter(rate=0, burst=1)
    assert all(limiter.allow("a", 0.0) for _ in range(100))


# -- origins and pixels -----------------------------------------------------------------------------------

def test_origins():
    any_origin = Origins(())
    assert any_origin.allows("https://anything.example") and any_origin.cors_headers("https://a.example")[
        "Access-Control-Allow-Origin"] == "*"
    listed = Origins(("https://www.example.com/",))
    assert listed.allows("https://WWW.example.com") and not listed.allows("https://evil.example")
    assert listed.allows(None)  # not a browser page: the rate limit still applies
    assert listed.allows_referer("https://www.example.com/pricing?x=1")
    assert not listed.allows_referer("https://www.example.com.evil.example/")
    assert listed.cors_headers("https://evil.example") == {}


def test_pixel_payloads():
    now = datetime(2026, 11, 25, 10, 0, tzinfo=timezone.utc)
    view = pixels.page_view({"u": "https://x.example/p", "a": "cookie", "zz": "ignored"}, "https://ref.example/",
                            "192.0.2.1", now)
    assert view == {"type": "page_view", "occurred_at": now.isoformat(), "source": "pixel", "url": "https://x.example/p",
                    "anonymous_id": "cookie", "ip": "192.0.2.1"}
    assert pixels.page_view({}, "https://ref.example/", "", now)["url"] == "https://ref.example/"
    claims = tokens.Claims("nov", "ana@acme.example", T0)
    later = now.replace(hour=23)
    assert pixels.email_open(claims, now)["event_id"] == pixels.email_open(claims, later)["event_id"]
    assert pixels.email_open(claims, now)["event_id"] != pixels.email_open(claims, now.replace(day=26))["event_id"]
    assert pixels.GIF[:6] == b"GIF89a" and len(pixels.GIF) == 42


@pytest.mark.parametrize("client, key", [
    ("198.51.100.1", "198.51.100.1"),
    ("::ffff:198.51.100.1", "198.51.100.1"),           # IPv4-mapped: the IPv4 client, not the /64 "::"
    ("2001:db8:1:2::1", "2001:db8:1:2::/64"),
    ("not an address", "not an address"),
])
def test_rate_limit_buckets(client, key):
    from streams.tracking.ratelimit import client_key
    assert client_key(client) == key


def test_a_token_is_valid_only_for_its_own_kind_of_link():
    opener = tokens.sign("k", tokens.Claims("nov", "ana@acme.example", T0))
    clicker = tokens.sign("k", tokens.Claims("nov", "ana@acme.example", T0, "https://x.example/"))
    assert isinstance(tokens.verify(("k",), opener, T0, DAY, kind="open"), tokens.Claims)
    assert tokens.verify(("k",), opener, T0, DAY, kind="click").reason == "not an email click token"
    assert tokens.verify(("k",), clicker, T0, DAY, kind="open").reason == "not an email open token"
    assert not tokens.is_web_url("https://x.example/\r\nSet-Cookie: a=1")
