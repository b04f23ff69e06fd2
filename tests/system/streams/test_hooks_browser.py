"""The snippet in a real browser: headless Chromium on a locally served page, events read back from Kafka."""
from __future__ import annotations

import os
import signal
import subprocess
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from conftest import free_port, start_service, wait_until
from hooks_helpers import touches
from test_hooks import hook_settings

CHROMIUM = "/usr/bin/chromium"

PAGE = """<!doctype html>
<html><head><title>Pricing | Example</title>
<script async src="{hooks}/t.js" data-heartbeat="1"></script></head>
<body><h1>Pricing</h1>
<form id="demo" data-pulse-form="demo-request" onsubmit="event.preventDefault()">
  <input type="email" name="work_email" value="  Ana@Acme.Example ">
  <button>Request a demo</button>
</form>
<script>
  // The visitor reads for a while, then asks for a demo (the snippet listens for submits).
  setTimeout(function () {{ document.getElementById("demo").requestSubmit(); }}, 2500);
</script>
</body></html>
"""


@pytest.fixture
def site():
    """The customer's web site: one page that loads the snippet from the hooks."""
    pages: dict[str, bytes] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            body = pages.get(self.path.split("?")[0])
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, pages
    server.shutdown()
    server.server_close()


def test_snippet_sends_page_view_engaged_time_and_identify_from_headless_chromium(broker, tmp_path, site):
    assert Path(CHROMIUM).exists(), f"{CHROMIUM} is needed for this test (Debian package chromium)"
    server, pages = site
    origin = f"http://127.0.0.1:{server.server_address[1]}"
    settings = hook_settings(broker, tmp_path, allowed_origins=(origin,), trusted_proxies=())
    hooks = start_service("hooks", ["hooks"], settings, f"{settings.hooks_url}/health", tmp_path)
    pages["/pricing"] = PAGE.format(hooks=settings.hooks_url).encode()
    browser = subprocess.Popen(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--no-first-run", f"--user-data-dir={tmp_path / 'chromium'}", f"{origin}/pricing?utm_source=test"],
        stdout=subprocess.DEVNULL, stderr=(tmp_path / "chromium.log").open("wb"), start_new_session=True)
    try:
        def seen():
            events = touches(settings)
            views = [e for e in events if e["type"] == "page_view"]
            beats = [e for e in events if e["type"] == "page_engagement" and e["engaged_seconds"] >= 2]
            identifies = [e for e in events if e["type"] == "identify"]
            forms = [e for e in events if e["type"] == "form_submit"]
            return (views and beats and identifies and forms) and (views, beats, identifies, forms)

        views, beats, identifies, forms = wait_until(seen, 60, 0.5, what="page view, heartbeats and identify from Chromium")
    finally:
        os.killpg(browser.pid, signal.SIGKILL)
        browser.wait()
        hooks.stop()

    view = views[0]
    assert len(views) == 1  # heartbeats are not page views
    assert view["url"] == f"{origin}/pricing?utm_source=test"
    assert view["title"] == "Pricing | Example"
    assert view["ip"] == "127.0.0.1"
    aid = view["anonymous_id"]
    assert len(aid) >= 16
    # engaged time arrives on heartbeats that name their page view, and only grows
    assert {b["page_view_id"] for b in beats} == {view["event_id"]}
    seconds = [b["engaged_seconds"] for b in sorted(beats, key=lambda b: b["occurred_at"])]
    assert seconds == sorted(seconds) and len(set(seconds)) == len(seconds)
    # the form told us who the cookie belongs to
    assert identifies[0]["anonymous_id"] == aid and identifies[0]["email"] == "ana@acme.example"
    assert forms[0]["form_id"] == "demo-request" and forms[0]["anonymous_id"] == aid
