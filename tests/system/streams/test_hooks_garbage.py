"""Generated garbage at every endpoint: never a 5xx, and every accepted event and dead letter is on Kafka."""
from __future__ import annotations

import json
import time
import urllib.parse
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, given, settings as hsettings, strategies as st

from conftest import start_service, wait_until
from hooks_helpers import call, dead_letters, touches
from schemas.events import EVENT_TYPES, fields_of
from streams.tracking import signatures, tokens
from test_hooks import LINK_SECRET, SECRET, hook_settings

EXAMPLES = hsettings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False)


@pytest.fixture(scope="module")
def hooks(broker, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("garbage")
    settings = hook_settings(broker, tmp, allowed_origins=())
    service = start_service("hooks", ["hooks"], settings, f"{settings.hooks_url}/health", tmp)
    try:
        yield settings
    finally:
        service.stop()


# -- strategies -------------------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


def _now(offset_s: float) -> str:
    return (datetime.now(timezone.utc) + timedelta(seconds=offset_s)).isoformat()


plausible = {
    "event_id": st.uuids().map(str),
    "page_view_id": st.uuids().map(str),
    "occurred_at": st.floats(-86400 * 500, 3600).map(_now) | st.sampled_from(["2026-01-01T00:00:00", "yesterday"]),
    "email": st.sampled_from(["ana@acme.example", " Bob@Acme.Example", "nope", "a@b"]),
    "ip": st.sampled_from(["10.1.2.3", "2001:db8::1", "300.1.1.1", "::ffff:1.2.3.4"]),
    "url": st.sampled_from(["https://www.example.com/", "x" * 3000, ""]),
    "status": st.sampled_from(["registered", "attended", "no_show", "maybe"]),
    "direction": st.sampled_from(["inbound", "outbound", "up"]),
    "outcome": st.sampled_from(["connected", "voicemail", "meeting_booked", "nothing"]),
}
for count in ("engaged_seconds", "attended_minutes", "duration_seconds", "duration_minutes"):
    plausible[count] = st.integers(-5, 100_000)


@st.composite
def events(draw):
    kind = draw(st.sampled_from([*EVENT_TYPES, "fax"]))
    names = list(fields_of(EVENT_TYPES.get(kind, EVENT_TYPES["page_view"])))
    event = {"type": kind} if draw(st.booleans()) or kind == "fax" else {}
    for name in draw(st.lists(st.sampled_from(names), max_size=len(names), unique=True)):
        strategy = plausible.get(name, st.text(max_size=20))
        event[name] = draw(strategy | json_values) if draw(st.integers(0, 9)) == 0 else draw(strategy)
    if draw(st.booleans()):
        event[draw(st.text(max_size=8))] = draw(json_values)
    return event


bodies = st.one_of(
    st.binary(max_size=300),
    json_values.map(lambda v: json.dumps(v).encode()),
    events().map(lambda e: json.dumps(e).encode()),
    st.lists(events(), max_size=8).map(lambda es: json.dumps(es).encode()),
    st.lists(events(), max_size=8).map(lambda es: json.dumps(es).encode()[: len(json.dumps(es)) // 2]),
)
headers = st.dictionaries(st.sampled_from(["Origin", "X-Forwarded-For", "Referer", "Content-Type"]),
                          st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40), max_size=3)


def check(reply) -> None:
    assert reply.status < 500, (reply.status, reply.body[:300])


# -- one test per endpoint ----------------------------------------------------------------------------

@EXAMPLES
@given(body=bodies, extra=headers)
def test_collect_survives_garbage(hooks, body, extra):
    reply = call(hooks, "POST", "/collect", body, extra)
    check(reply)
    if reply.status in (202, 400) and reply.headers.get("Content-Type", "").startswith("application/json"):
        detail = json.loads(reply.body)
        assert ("accepted" in detail) or ("error" in detail)


@EXAMPLES
@given(body=bodies, path=st.sampled_from(["/hooks/calls", "/hooks/attendance", "/hooks/events"]),
       sign=st.sampled_from(["good", "none", "stale", "other"]))
def test_webhooks_survive_garbage(hooks, body, path, sign):
    now = int(time.time())
    head = {"good": signatures.headers(SECRET, now, body), "none": {},
            "stale": signatures.headers(SECRET, now - 1000, body), "other": signatures.headers("x", now, body)}[sign]
    reply = call(hooks, "POST", path, body, head)
    check(reply)
    if sign != "good":
        assert reply.status == 401


query_text = st.text(max_size=60)


@EXAMPLES
@given(params=st.dictionaries(st.sampled_from(["u", "r", "t", "a", "e", "c", "p", "zz"]), query_text, max_size=5),
       extra=headers)
def test_page_pixel_survives_garbage(hooks, params, extra):
    reply = call(hooks, "GET", "/p.gif?" + urllib.parse.urlencode(params), headers=extra)
    check(reply)
    assert reply.status == 200 and reply.headers["Content-Type"] == "image/gif"


@EXAMPLES
@given(token=st.one_of(st.text(max_size=80), st.builds(
    lambda c, r, age, url: tokens.sign(LINK_SECRET, tokens.Claims(c, r, int(time.time()) - age, url)),
    st.text(max_size=20), st.text(max_size=30), st.integers(-1000, 90 * 86400), st.none() | st.text(max_size=40))),
    u=st.none() | st.text(max_size=60) | st.sampled_from(["https://docs.example.com/x", "//evil.example"]))
def test_email_links_survive_garbage(hooks, token, u):
    quoted = urllib.parse.quote(token, safe="") or "x"
    opened = call(hooks, "GET", f"/o/{quoted}.gif")
    check(opened)
    assert opened.status == 200 and opened.body[:6] == b"GIF89a"
    clicked = call(hooks, "GET", f"/c/{quoted}" + ("" if u is None else "?u=" + urllib.parse.quote(u, safe="")))
    check(clicked)
    assert clicked.status in (302, 400, 404)
    if clicked.status == 302:
        location = clicked.headers["Location"]
        assert location.startswith(("http://", "https://"))
        allowed = urllib.parse.urlsplit(location).hostname == "docs.example.com"
        signed = tokens.verify((LINK_SECRET,), token, time.time(), 1e12)
        assert allowed or (isinstance(signed, tokens.Claims) and signed.url == location), location


def test_uuid_tokens_and_odd_paths_do_not_break_routing(hooks):
    for path in (f"/o/{uuid.uuid4()}.gif", "/o/.gif", "/o/%00.gif", "/c/%2e%2e", "/collect/../health", "/p.gif?u=%ff"):
        check(call(hooks, "GET", path))


def test_every_accepted_event_and_every_dead_letter_reaches_kafka(hooks):
    """Whatever else ran on these hooks, and in whichever order: what they counted is on the topics."""
    now = datetime.now(timezone.utc).isoformat()
    check(call(hooks, "POST", "/collect", headers={"Content-Type": "application/json"}, body=json.dumps([
        {"type": "page_view", "occurred_at": now, "url": "https://www.example.com/", "anonymous_id": "zz"},
        {"type": "page_view", "occurred_at": "yesterday-ish", "url": "https://www.example.com/"}]).encode()))
    check(call(hooks, "POST", "/collect", b"\x00 not json"))
    health = json.loads(call(hooks, "GET", "/health").body)
    assert health["accepted"] > 0 and health["dead_letters"] > 0, health
    wait_until(lambda: len(touches(hooks)) == health["accepted"], 30,
               what=f"{health['accepted']} accepted events on the touches topic")
    wait_until(lambda: len(dead_letters(hooks)) == health["dead_letters"], 30,
               what=f"{health['dead_letters']} dead letters on the dead-letter topic")
