"""Every hook endpoint against a real hooks process and the real broker: what reaches Kafka, what is refused."""
from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from conftest import free_port, start_service, wait_until
from hooks_helpers import call, dead_letters, events_with, marker, post_json, post_signed, touches
from schemas.settings import Settings
from streams.tracking import signatures, tokens
from streams.tracking.pixels import GIF

SECRET, OLD_SECRET, LINK_SECRET = "hook-secret-1", "hook-secret-0", "link-secret-1"
SITE = "https://www.example.com"


def hook_settings(broker: str, tmp, **over) -> Settings:
    tag = uuid.uuid4().hex[:10]
    base = dict(
        kafka_bootstrap=broker, topic_prefix=f"h{tag}", partitions=2, app_id=f"hooks-{tag}", data_dir=tmp / "data",
        database=f"h_{tag}", sql_port=free_port(), hooks_port=free_port(), ui_port=free_port(),
        hook_secrets=(SECRET, OLD_SECRET), link_secrets=(LINK_SECRET,), allowed_origins=(SITE,),
        rate_limit=1000.0, rate_burst=100_000, trusted_proxies=("127.0.0.1/32", "::1/128"),
        click_allowed_hosts=("docs.example.com",), token_max_age_days=30,
    )
    if "health_port" in Settings.__dataclass_fields__:
        base["health_port"] = free_port()
    base.update(over)
    return Settings(**base)


@pytest.fixture(scope="module")
def hooks(broker, tmp_path_factory):
    """One hooks process for this module (own topics); tests tell their events apart by a marker."""
    tmp = tmp_path_factory.mktemp("hooks")
    settings = hook_settings(broker, tmp)
    service = start_service("hooks", ["hooks"], settings, f"{settings.hooks_url}/health", tmp)
    try:
        yield settings
    finally:
        service.stop()


def now_iso(delta: timedelta = timedelta()) -> str:
    return (datetime.now(timezone.utc) + delta).isoformat()


def page_view(aid: str, **over) -> dict:
    return {"type": "page_view", "occurred_at": now_iso(), "url": f"{SITE}/pricing", "anonymous_id": aid, **over}


def dead_letters_mentioning(settings, text: str) -> list[dict]:
    return [d for d in dead_letters(settings) if text in d["payload"]]


# -- POST /collect --------------------------------------------------------------------------------

def test_collect_takes_an_array_and_names_every_problem_per_item(hooks):
    aid = marker()
    reply = post_json(hooks, "/collect", [
        page_view(aid, utm_source="linkedin"),
        {"type": "page_view", "anonymous_id": aid, "occurred_at": "yesterday", "url": 5},
        {"type": "fax", "anonymous_id": aid},
        page_view(aid, email="Ana@Acme.Example", url=f"{SITE}/demo", ip="203.0.113.9", account_id="acc-0003"),
    ], headers={"Origin": SITE})
    assert reply.status == 202
    body = reply.json()
    assert body["accepted"] == 2
    assert [p["index"] for p in body["rejected"]] == [1, 2]
    assert {e["field"] for e in body["rejected"][0]["errors"]} == {"occurred_at", "url"}
    assert body["rejected"][1]["errors"][0]["field"] == "type"
    assert reply.headers["Access-Control-Allow-Origin"] == SITE

    stored = wait_until(lambda: len(events_with(hooks, anonymous_id=aid)) == 2 and events_with(hooks, anonymous_id=aid),
                        20, what="two accepted page views on the touches topic")
    by_url = {e["url"]: e for e in stored}
    assert by_url[f"{SITE}/pricing"]["properties"] == {"utm_source": "linkedin"}  # unknown fields are kept
    # a page may not say who it is: no email on a page view, no account, the connection's address
    assert not any("email" in e or "account_id" in e for e in stored)
    assert all(e["ip"] == "127.0.0.1" for e in stored)  # the client's address, for IP resolution
    assert all(uuid.UUID(e["event_id"]) for e in stored)
    bad = wait_until(lambda: len(dead_letters_mentioning(hooks, aid)) == 2 and dead_letters_mentioning(hooks, aid), 20,
                     what="two dead letters")
    assert {d["source"] for d in bad} == {"collect"}
    assert any(r["field"] == "type" and "unknown event type" in r["reason"] for d in bad for r in d["reasons"])


def test_collect_with_nothing_valid_is_400_and_every_item_is_dead_lettered(hooks):
    aid = marker()
    reply = post_json(hooks, "/collect", {"type": "page_view", "anonymous_id": aid, "occurred_at": now_iso()})
    assert reply.status == 400
    assert reply.json()["rejected"] == [{"index": 0, "errors": [{"field": "url", "reason": "required field is missing"}]}]
    wait_until(lambda: dead_letters_mentioning(hooks, aid), 20, what="the dead letter")


@pytest.mark.parametrize("body, reason", [
    (b'{"type": "page_view", ', "not valid JSON"),
    (b'["caf\xe9"]', "not UTF-8"),
    (b"", "empty"),
    (b"[" * 5000, "nested too deeply"),
])
def test_collect_bodies_that_are_not_json_are_400_and_kept(hooks, body, reason):
    reply = call(hooks, "POST", "/collect", body, {"Content-Type": "text/plain"})
    assert reply.status == 400
    assert reason in reply.json()["error"]
    wait_until(lambda: [d for d in dead_letters(hooks) if reason in d["reasons"][0]["reason"]], 20,
               what=f"a dead letter saying {reason!r}")


def test_collect_limits_are_413_and_400_with_a_reason(hooks):
    aid = marker()
    too_many = post_json(hooks, "/collect", [page_view(aid)] * 501)
    assert too_many.status == 413 and "at most 500" in too_many.json()["error"]
    too_big = call(hooks, "POST", "/collect", b" " * (1024 * 1024 + 1))
    assert too_big.status == 413 and "1 MiB" in too_big.json()["error"]
    too_long = post_json(hooks, "/collect", page_view(aid, title="x" * 513))
    assert too_long.status == 400
    assert too_long.json()["rejected"][0]["errors"] == [{"field": "title", "reason": "longer than 512 characters (513)"}]
    assert not events_with(hooks, anonymous_id=aid)


def test_cors_preflight_and_the_origin_allow_list(hooks):
    ok = call(hooks, "OPTIONS", "/collect", headers={"Origin": SITE, "Access-Control-Request-Method": "POST"})
    assert ok.status == 204 and ok.headers["Access-Control-Allow-Origin"] == SITE
    assert call(hooks, "OPTIONS", "/collect", headers={"Origin": "https://evil.example"}).status == 403
    aid = marker()
    refused = post_json(hooks, "/collect", page_view(aid), headers={"Origin": "https://evil.example"})
    assert refused.status == 403 and "not allowed" in refused.json()["error"]
    # a marker event after it: once it is on the topic, the refused one would be too
    post_json(hooks, "/collect", page_view(aid, url=f"{SITE}/after"), headers={"Origin": SITE})
    wait_until(lambda: events_with(hooks, anonymous_id=aid), 20, what="the allowed event")
    assert [e["url"] for e in events_with(hooks, anonymous_id=aid)] == [f"{SITE}/after"]


def test_trusted_proxy_hop_decides_the_client_ip(hooks):
    aid = marker()
    # 127.0.0.1 is a trusted proxy here; the hop left of it is the client, anything further left is the client's word
    post_json(hooks, "/collect", page_view(aid), headers={"X-Forwarded-For": "6.6.6.6, 198.51.100.9"})
    event = wait_until(lambda: events_with(hooks, anonymous_id=aid), 20, what="the event")[0]
    assert event["ip"] == "198.51.100.9"


def test_a_heartbeat_is_its_own_event_that_points_at_its_page_view(hooks):
    aid = marker()
    view_id = str(uuid.uuid4())
    assert post_json(hooks, "/collect", [page_view(aid, event_id=view_id)]).status == 202
    beat = {"type": "page_engagement", "occurred_at": now_iso(), "page_view_id": view_id, "engaged_seconds": 15,
            "anonymous_id": aid}
    assert post_json(hooks, "/collect", [beat]).json()["accepted"] == 1
    assert post_json(hooks, "/collect", [beat]).json()["accepted"] == 1  # a retried beacon: same derived id
    events = wait_until(lambda: len(events_with(hooks, anonymous_id=aid)) == 3 and events_with(hooks, anonymous_id=aid),
                        20, what="the view and two copies of its heartbeat")
    views = [e for e in events if e["type"] == "page_view"]
    beats = [e for e in events if e["type"] == "page_engagement"]
    assert len(views) == 1 and views[0]["event_id"] == view_id
    assert {b["page_view_id"] for b in beats} == {view_id} and {b["engaged_seconds"] for b in beats} == {15}
    assert len({b["event_id"] for b in beats}) == 1  # the worker keeps one


# -- GET /t.js and /p.gif -----------------------------------------------------------------------

def test_the_snippet_is_served_cacheable(hooks):
    reply = call(hooks, "GET", "/t.js")
    assert reply.status == 200 and reply.headers["Content-Type"].startswith("application/javascript")
    assert b"sendBeacon" in reply.body and b"page_engagement" in reply.body
    assert call(hooks, "GET", "/t.js", headers={"If-None-Match": reply.headers["ETag"]}).status == 304


def test_page_pixel_records_a_page_view_and_always_answers_a_gif(hooks):
    aid = marker()
    query = urllib.parse.urlencode({"u": f"{SITE}/no-js", "a": aid, "t": "No JS"})
    reply = call(hooks, "GET", f"/p.gif?{query}")
    assert reply.status == 200 and reply.body == GIF and reply.headers["Content-Type"] == "image/gif"
    # without u, the page is the Referer
    aid2 = marker()
    call(hooks, "GET", f"/p.gif?a={aid2}", headers={"Referer": f"{SITE}/from-referer"})
    # a Referer outside the allowed origins is not recorded, but still gets its image
    aid3 = marker()
    assert call(hooks, "GET", f"/p.gif?a={aid3}&u=x", headers={"Referer": "https://evil.example/"}).body == GIF
    # an invalid pixel (no url at all) is dead-lettered, and still gets its image
    aid4 = marker()
    assert call(hooks, "GET", f"/p.gif?a={aid4}").body == GIF

    first = wait_until(lambda: events_with(hooks, anonymous_id=aid), 20, what="the pixel page view")[0]
    assert (first["type"], first["url"], first["title"], first["source"]) == ("page_view", f"{SITE}/no-js", "No JS", "pixel")
    assert first["ip"] == "127.0.0.1"
    second = wait_until(lambda: events_with(hooks, anonymous_id=aid2), 20, what="the Referer page view")[0]
    assert second["url"] == f"{SITE}/from-referer"
    bad = wait_until(lambda: dead_letters_mentioning(hooks, aid4), 20, what="the invalid pixel's dead letter")[0]
    assert bad["source"] == "pixel" and bad["reasons"][0]["field"] == "url"
    assert not events_with(hooks, anonymous_id=aid3)


# -- email ----------------------------------------------------------------------------------------

def test_open_pixel_with_a_signed_token_records_one_open_and_bad_tokens_still_get_the_gif(hooks):
    campaign = marker()
    issued = int(time.time())
    link = tokens.open_link(hooks.hooks_url, LINK_SECRET, campaign, "Ana@Acme.Example", issued)
    path = urllib.parse.urlsplit(link).path
    for _ in range(2):  # a second fetch (mail proxy, re-open) the same day is the same open
        reply = call(hooks, "GET", path)
        assert reply.status == 200 and reply.body == GIF
    tampered = path.replace(path.split("/")[2][:6], "AAAAAA")
    expired = urllib.parse.urlsplit(tokens.open_link(hooks.hooks_url, LINK_SECRET, campaign, "bob@acme.example",
                                                     issued - 31 * 86400)).path
    forged = urllib.parse.urlsplit(tokens.open_link(hooks.hooks_url, "not-our-secret", campaign, "eve@acme.example",
                                                    issued)).path
    for bad in (tampered, expired, forged, "/o/garbage.gif", "/o/%FF%FE.gif"):
        reply = call(hooks, "GET", bad)
        assert reply.status == 200 and reply.body == GIF, bad

    opens = wait_until(lambda: len(events_with(hooks, campaign_id=campaign)) >= 2 and events_with(hooks, campaign_id=campaign),
                       20, what="the open on the topic")
    assert {(e["type"], e["email"]) for e in opens} == {("email_open", "ana@acme.example")}
    assert len({e["event_id"] for e in opens}) == 1  # one open per campaign, recipient and day
    reasons = wait_until(lambda: [d["reasons"][0]["reason"] for d in dead_letters(hooks) if d["source"] == "email"
                                  and campaign in _decoded_path(d)] or None, 20, what="dead letters of the bad tokens")
    assert any("older than 30 days" in r for r in reasons)
    assert any("signature does not match" in r for r in reasons)


def _decoded_path(dead_letter: dict) -> str:
    path = json.loads(dead_letter["payload"])["path"]
    token = path.split("/")[2].removesuffix(".gif").split(".")[0]
    try:
        return tokens._unb64(token).decode(errors="replace")
    except ValueError:
        return ""


def test_click_redirects_only_to_signed_or_allow_listed_destinations(hooks):
    campaign = marker()
    issued = int(time.time())
    signed = urllib.parse.urlsplit(tokens.click_link(hooks.hooks_url, LINK_SECRET, campaign, "ana@acme.example",
                                                     issued, f"{SITE}/whitepaper"))
    reply = call(hooks, "GET", f"{signed.path}?{signed.query}")
    assert reply.status == 302 and reply.headers["Location"] == f"{SITE}/whitepaper"
    # a tampered u= does not move a signed link
    token = signed.path.split("/")[2]
    reply = call(hooks, "GET", f"/c/{token}?u=https%3A%2F%2Fevil.example%2F")
    assert reply.status == 302 and reply.headers["Location"] == f"{SITE}/whitepaper"
    # an open token (no URL) is no click link: like any bad token it may go to an allow-listed host,
    # not elsewhere, and it records no click (issue 13: it recorded one for any allow-listed URL)
    plain = tokens.sign(LINK_SECRET, tokens.Claims(campaign, "bob@acme.example", issued))
    reply = call(hooks, "GET", f"/c/{plain}?u=https%3A%2F%2Fdocs.example.com%2Fguide")
    assert reply.status == 302 and reply.headers["Location"] == "https://docs.example.com/guide"
    for evil in ("https://evil.example/", "//evil.example/", "javascript:alert(1)", "https://docs.example.com.evil.example/"):
        reply = call(hooks, "GET", f"/c/{plain}?u={urllib.parse.quote(evil, safe='')}")
        assert reply.status == 400 and "Location" not in reply.headers, evil
    assert call(hooks, "GET", "/c/garbage?u=https%3A%2F%2Fevil.example%2F").status == 400

    # each answer came once Kafka had the click: the open token's would be there already
    clicks = wait_until(lambda: len(events_with(hooks, campaign_id=campaign)) >= 2 and events_with(hooks, campaign_id=campaign),
                        20, what="the clicks on the topic")
    assert {(e["email"], e["url"]) for e in clicks} == {("ana@acme.example", f"{SITE}/whitepaper")}
    assert {e["type"] for e in clicks} == {"email_click"}


# -- webhooks -------------------------------------------------------------------------------------

def call_item(rep: str, **over) -> dict:
    return {"occurred_at": now_iso(-timedelta(minutes=1)), "email": "ceo@acme.example", "direction": "outbound",
            "duration_seconds": 300, "outcome": "connected", "rep": rep, **over}


def test_webhooks_refuse_requests_without_a_valid_signature(hooks):
    body = json.dumps([call_item("r")]).encode()
    assert post_json(hooks, "/hooks/calls", [call_item("r")]).status == 401
    assert post_signed(hooks, "/hooks/calls", body, "wrong").json()["error"].startswith("X-Pulse-Signature does not match")
    stale = post_signed(hooks, "/hooks/calls", body, SECRET, timestamp=int(time.time()) - 301)
    assert stale.status == 401 and "5 minutes" in stale.json()["error"]
    signed_other_body = call(hooks, "POST", "/hooks/calls", body + b" ", {
        "X-Pulse-Timestamp": str(int(time.time())),
        "X-Pulse-Signature": signatures.sign(SECRET, int(time.time()), body)})
    assert signed_other_body.status == 401


def test_webhooks_accept_per_item_with_detail_and_an_id_less_retry_is_the_same_event(hooks):
    rep = marker()
    body = json.dumps([call_item(rep), call_item(rep, outcome="hung_up"), call_item(rep, type="meeting")]).encode()
    reply = post_signed(hooks, "/hooks/calls", body, SECRET)
    assert reply.status == 202
    detail = reply.json()
    assert detail["accepted"] == 1
    assert [(p["index"], p["errors"][0]["field"]) for p in detail["rejected"]] == [(1, "outcome"), (2, "type")]
    assert post_signed(hooks, "/hooks/calls", body, OLD_SECRET).status == 202  # rotation: the old secret still works

    attendance = json.dumps([{"occurred_at": now_iso(), "email": "cfo@acme.example", "program_id": rep,
                              "status": "attended", "attended_minutes": 45}]).encode()
    assert post_signed(hooks, "/hooks/attendance", attendance, SECRET).json() == {"accepted": 1, "rejected": []}
    anything = json.dumps({"type": "meeting", "occurred_at": now_iso(), "account_id": "acme", "rep": rep,
                           "duration_minutes": 30}).encode()
    assert post_signed(hooks, "/hooks/events", anything, SECRET).status == 202
    none_valid = post_signed(hooks, "/hooks/events", json.dumps([{"type": "call", "rep": rep}]).encode(), SECRET)
    assert none_valid.status == 400 and none_valid.json()["accepted"] == 0

    calls = wait_until(lambda: len(events_with(hooks, rep=rep)) >= 3 and events_with(hooks, rep=rep), 20,
                       what="the call (twice) and the meeting")
    call_ids = {e["event_id"] for e in calls if e["type"] == "call"}
    assert len(call_ids) == 1  # the id-less retry derived the same id: the worker counts it once
    assert [e["type"] for e in events_with(hooks, program_id=rep)] == ["event_attendance"]
    sources = wait_until(lambda: {d["source"] for d in dead_letters(hooks) if rep in d["payload"]} or None, 20,
                         what="the dead letters of the webhook items")
    assert sources == {"webhook:calls", "webhook:events"}


# -- rate limit (its own hooks process: a tiny budget) -------------------------------------------

def test_per_client_ip_rate_limit(broker, tmp_path):
    settings = hook_settings(broker, tmp_path, rate_limit=0.01, rate_burst=3,
                             collect_types=("page_view", "page_engagement", "identify", "form_submit"))
    service = start_service("hooks", ["hooks"], settings, f"{settings.hooks_url}/health", tmp_path)
    try:
        aid = marker()
        # the public endpoint takes web events only: a call must come signed
        mixed = post_json(settings, "/collect", [page_view(aid), {**call_item("r"), "type": "call", "anonymous_id": aid}],
                          headers={"X-Forwarded-For": "203.0.113.99"})
        assert mixed.status == 202 and mixed.json()["accepted"] == 1
        assert "PULSE_COLLECT_TYPES" in mixed.json()["rejected"][0]["errors"][0]["reason"]
        client_a = {"X-Forwarded-For": "203.0.113.7"}
        statuses = [post_json(settings, "/collect", page_view(aid), headers=client_a).status for _ in range(5)]
        assert statuses == [202, 202, 202, 429, 429]
        limited = post_json(settings, "/collect", page_view(aid), headers=client_a)
        assert int(limited.headers["Retry-After"]) >= 1 and "too many requests" in limited.json()["error"]
        # another client has its own budget; the pixel shares the budget of its client
        assert post_json(settings, "/collect", page_view(aid), headers={"X-Forwarded-For": "203.0.113.8"}).status == 202
        assert call(settings, "GET", f"/p.gif?a={aid}&u=x", headers=client_a).status == 429
        assert json.loads(call(settings, "GET", "/health").body)["rate_limited"] >= 4
    finally:
        service.stop()
