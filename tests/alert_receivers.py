"""Real receivers for the alert and digest tests: an HTTP server (Slack's and a CRM's side of a webhook) and an
SMTP server (aiosmtpd), both on free local ports in a thread of the test process. No mocks: pulse talks to them
over sockets exactly as it talks to Slack, a webhook receiver or a mail relay."""
from __future__ import annotations

import email
import email.policy
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from aiosmtpd.controller import Controller

from pulse.support.ports import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class HttpReceiver:
    """POSTs answered 200, or 500 for the first `fail_first` of them (a destination that is down a while)."""
    fail_first: int = 0
    requests: list[Received] = field(default_factory=list)
    failed: int = 0

    def __enter__(self) -> "HttpReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.failed < receiver.fail_first:
                    receiver.failed += 1
                    self.send_response(500)
                else:
                    receiver.requests.append(Received(self.path, dict(self.headers.items()), body))
                    self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", free_port()), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/alerts"

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpReceiver:
    """A real SMTP server; `messages` are the mails it accepted, parsed."""

    def __init__(self):
        self.messages: list[email.message.EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []

    async def handle_DATA(self, server, session, envelope):
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        self.messages.append(email.message_from_bytes(envelope.original_content, policy=email.policy.default))
        return "250 OK"

    def __enter__(self) -> "SmtpReceiver":
        self.port = free_port()
        self.controller = Controller(self, hostname="127.0.0.1", port=self.port)
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.controller.stop()
