"""Issue 13 against the real hooks (a hooks process, or the real aiohttp app in this process where a
deadline must be short): what a public request may assert, junk kept bounded, malformed signature
headers, slow bodies, control characters in click links, rate-limit buckets and X-Forwarded-For lines."""
from __future__ import annotations

import asyncio
import hashlib
import http.client
import json
import socket
import time

from conftest import free_port, start_service, wait_until
import pytest

from hooks_helpers import call, dead_letters, events_with, marker, post_json
from test_hooks import SECRET, SITE, hook_settings, hooks, now_iso, page_view  # noqa: F401 (fixture)
from streams.hooks import Hooks
from streams.tracking.bodies import DEAD_LETTER_PREFIX
from streams.tracking import signatures


def health(settings) -> dict:
    return json.loads(call(settings, "GET", "/health").body)


def test_a_public_body_names_no_account_no_address_and_an_email_only_where_a_visitor_types_one(hooks):
    aid = marker()
    body = [
        {**page_view(aid), "email": "ceo@acme.example", "account_id": "acc-0003", "ip": "203.0.113.9"},
        {"type": "form_submit", "occurred_at": now_iso(), "anonymous_id": aid, "form_id": "demo",
         "email": "Ana@Acme.Example", "account_id": "acc-0003", "ip": "203.0.113.9"},
    ]
    reply = post_json(hooks, "/collect", body)  # every item well-formed: the one-pass path
    assert reply.status == 202 and reply.json() == {"accepted": 2, "rejected": []}
    stored = wait_until(lambda: len(events_with(hooks, anonymous_id=aid)) == 2 and events_with(hooks, anonymous_id=aid),
                        20, what="both events on the touches topic")
    by_type = {e["type"]: e for e in stored}
    assert all("account_id" not in e and e["ip"] == "127.0.0.1" for e in stored)
    assert "email" not in by_type["page_view"] and by_type["form_submit"]["email"] == "ana@acme.example"


def test_a_public_event_older_than_a_day_is_refused_with_its_reason(hooks):
    aid = marker()
    reply = post_json(hooks, "/collect", [page_view(aid, occurred_at=now_iso(-_days(2)))])
    assert reply.status == 400
    assert reply.json()["rejected"][0]["errors"] == [{"field": "occurred_at",
                                                     "reason": "older than this path takes (1 day)"}]


def _days(n: int):
    from datetime import timedelta
    return timedelta(days=n)


def test_a_large_junk_body_is_kept_as_a_prefix_its_length_and_hash(hooks):
    junk = (marker() + " not json ").encode() * (1024 * 1024 // 24)
    reply = call(hooks, "POST", "/collect", junk, {"Content-Type": "text/plain"})
    assert reply.status == 400 and "not valid JSON" in reply.json()["error"]
    digest = hashlib.sha256(junk).hexdigest()
    kept = wait_until(lambda: [d for d in dead_letters(hooks) if d.get("payload_sha256") == digest], 20,
                      what="the dead letter of the junk body")[0]
    assert kept["payload_bytes"] == len(junk) and kept["payload"] == junk[:DEAD_LETTER_PREFIX].decode()
    assert any(digest in r["reason"] and str(len(junk)) in r["reason"] for r in kept["reasons"])


def test_malformed_signature_headers_are_401_and_counted(hooks):
    body = b'[{"type": "call"}]'
    before = health(hooks)["unauthorised"]
    good = signatures.headers(SECRET, int(time.time()), body)
    cases = [
        {**good, "X-Pulse-Signature": "sha256=\u00e9" + "0" * 63},       # not ASCII
        {**good, "X-Pulse-Timestamp": "\u00b2\u00b3"},                   # digits to str.isdigit, not to int()
        {**good, "X-Pulse-Timestamp": "12x"},
    ]
    for headers in cases:
        conn = http.client.HTTPConnection("127.0.0.1", hooks.hooks_port, timeout=30)
        conn.putrequest("POST", "/hooks/calls")
        for name, value in {**headers, "Content-Length": str(len(body))}.items():
            conn.putheader(name, value.encode("latin-1"))
        conn.endheaders(body)
        reply = conn.getresponse()
        assert reply.status == 401, (headers, reply.status, reply.read())
        assert "X-Pulse" in json.loads(reply.read())["error"]
        conn.close()
    assert health(hooks)["unauthorised"] == before + len(cases)


def test_an_unsigned_webhook_is_refused_before_its_body_is_read(hooks):
    # the headers promise a megabyte that never comes: the answer must not wait for it
    with socket.create_connection(("127.0.0.1", hooks.hooks_port), timeout=30) as sock:
        sock.sendall(b"POST /hooks/calls HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n[")
        head = sock.recv(4096)
    assert head.startswith(b"HTTP/1.1 401")


@pytest.mark.parametrize("path", ["/hooks/calls", "/collect"])
def test_a_slow_body_gets_408_at_the_deadline(broker, tmp_path, path):
    """The real app in this process, with a 1 s deadline instead of 10 s (same code path); the public
    /collect as well as a webhook, so a slow sender holds no connection for long anywhere."""
    from aiohttp import web

    settings = hook_settings(broker, tmp_path)
    app_hooks = Hooks(settings)
    app_hooks.body_deadline_s = 1.0

    async def scenario() -> bytes:
        runner = web.AppRunner(app_hooks.app())
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            body = b"[" + b" " * 100 + b"]"
            head = "".join(f"{k}: {v}\r\n" for k, v in signatures.headers(SECRET, int(time.time()), body).items())
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n{head}\r\n"
                         .encode() + body[:10])
            await writer.drain()
            answer = await asyncio.wait_for(reader.read(4096), 30)  # the rest of the body never comes
            writer.close()
            return answer
        finally:
            await runner.cleanup()

    answer = asyncio.run(scenario())
    assert answer.startswith(b"HTTP/1.1 408") and b"within 1 s" in answer
    assert app_hooks.stats["slow_bodies"] == 1


def test_control_characters_in_a_click_destination_are_a_plain_400(hooks):
    for u in ("https%3A%2F%2Fdocs.example.com%2F%0D%0ASet-Cookie%3A%20x%3D1", "https%3A%2F%2Fdocs.example.com%2F%00"):
        reply = call(hooks, "GET", f"/c/garbage?u={u}")
        assert reply.status == 400 and "Location" not in reply.headers, u


def test_every_x_forwarded_for_line_is_read_in_order(hooks):
    aid = marker()
    conn = http.client.HTTPConnection("127.0.0.1", hooks.hooks_port, timeout=30)
    body = json.dumps(page_view(aid)).encode()
    conn.putrequest("POST", "/collect")
    conn.putheader("Content-Type", "application/json")
    conn.putheader("Content-Length", str(len(body)))
    conn.putheader("X-Forwarded-For", "6.6.6.6")          # written by the client: forgeable
    conn.putheader("X-Forwarded-For", "198.51.100.7")     # the line our proxy added
    conn.endheaders(body)
    assert conn.getresponse().status == 202
    conn.close()
    stored = wait_until(lambda: events_with(hooks, anonymous_id=aid), 20, what="the page view")
    assert stored[0]["ip"] == "198.51.100.7"


def test_ipv4_mapped_clients_get_a_bucket_each(broker, tmp_path):
    settings = hook_settings(broker, tmp_path, rate_limit=0.01, rate_burst=2)
    service = start_service("hooks", ["hooks"], settings, f"{settings.hooks_url}/health", tmp_path)
    try:
        aid = marker()
        first = {"X-Forwarded-For": "::ffff:198.51.100.1"}
        assert [post_json(settings, "/collect", page_view(aid), headers=first).status for _ in range(3)] == \
            [202, 202, 429]
        # another IPv4 client behind a dual-stack proxy: its own budget, not the first one's /64
        assert post_json(settings, "/collect", page_view(aid), headers={"X-Forwarded-For": "::ffff:198.51.100.2"}
                         ).status == 202
    finally:
        service.stop()
