"""The demo's alerts: rules that deliver somewhere safe and visible (issue 19).

`pulse up --demo` (without PULSE_ALERTS_FILE of its own) points the worker at pulse/demo_alerts.toml, whose
rules post Slack messages to PULSE_DEMO_INBOX_URL: the demo's inbox, an HTTP receiver on loopback that the
demo process runs. It answers as Slack's incoming webhooks do (200 "ok"), writes each message as a JSON line
to logs/demo-alerts.jsonl and logs its text, so a newcomer sees what would have reached the channel, and the
Alerts page's Deliveries section has rows; no message leaves the machine, and no stranger's URL is called.
"""
from __future__ import annotations

import json
import logging
import socket
import threading
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Mapping

log = logging.getLogger("pulse.demo")

RULES = Path(__file__).with_name("demo_alerts.toml")
URL_VAR, FILE_VAR = "PULSE_DEMO_INBOX_URL", "PULSE_DEMO_INBOX_FILE"
MAX_BODY = 64 * 1024  # a Slack message is at most a few kB


def environment(logs: Path) -> dict[str, str]:
    """The variables `pulse up --demo` adds: the rules file, a free loopback port for the inbox, its log."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return {"PULSE_ALERTS_FILE": str(RULES), URL_VAR: f"http://127.0.0.1:{port}/slack",
            FILE_VAR: str(logs / "demo-alerts.jsonl")}


def received(body: bytes, at: datetime) -> dict:
    """One delivery as the inbox records it: when, and the message (its text), or why it is not one."""
    try:
        message = json.loads(body)
        text = message["text"] if isinstance(message, dict) and isinstance(message.get("text"), str) else None
    except (ValueError, UnicodeDecodeError):
        message, text = None, None
    return {"received_at": at.isoformat(), "text": text, "message": message} if text is not None else \
        {"received_at": at.isoformat(), "rejected": "not a Slack message (JSON with a text)"}


def _handler(record: Path):
    lock = threading.Lock()

    class Inbox(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 (http.server's name)
            length = int(self.headers.get("Content-Length") or 0)
            if self.path != "/slack" or not 0 < length <= MAX_BODY:
                self.send_error(404 if self.path != "/slack" else 413)
                return
            entry = received(self.rfile.read(length), datetime.now(timezone.utc))
            with lock, record.open("a", encoding="utf-8") as out:
                out.write(json.dumps(entry, ensure_ascii=False) + "\n")
            if "rejected" in entry:
                self.send_error(400, entry["rejected"])
                return
            log.info("demo inbox (as Slack would show it): %s", entry["text"])
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args) -> None:  # the line above says it; no access log
            pass

    return Inbox


def start_inbox(environ: Mapping[str, str]) -> ThreadingHTTPServer | None:
    """Serve the inbox on the loopback port PULSE_DEMO_INBOX_URL names, in a daemon thread; None when the
    demo runs without it (`pulse demo` on its own, or the operator's own PULSE_ALERTS_FILE)."""
    url, record = environ.get(URL_VAR), environ.get(FILE_VAR)
    if not url or not record:
        return None
    port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
    server = ThreadingHTTPServer(("127.0.0.1", port), _handler(Path(record)))
    threading.Thread(target=server.serve_forever, name="demo-inbox", daemon=True).start()
    log.info("demo inbox on %s: the demo's alert rules (%s) deliver here; messages in %s", url, RULES.name, record)
    return server
