"""Alerts and the digest leave here: an HTTP POST (Slack, generic webhook) or an SMTP conversation.

Blocking calls with timeouts, made on the alert job's own thread. A failure raises DeliveryError with a reason
that is safe to store in alert_deliveries: it never carries the URL (a Slack URL is a credential) or a secret.
"""
from __future__ import annotations

import json
import smtplib
import ssl
import time
import urllib.error
import urllib.request
from email.message import EmailMessage
from urllib.parse import urlsplit

from schemas.alert_rules import Email, Rule, Slack, Webhook
from streams.core import alerts
from streams.tracking import signatures

TIMEOUT_S = 10.0


class DeliveryError(Exception):
    pass


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    # a redirect could lead a signed POST somewhere the rule never named: a 3xx is a failure
    def redirect_request(self, *args, **kwargs):
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def post(url: str, body: bytes, headers: dict[str, str]) -> None:
    if urlsplit(url).scheme not in ("http", "https"):
        raise DeliveryError("the destination URL is not http(s)")
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json", "User-Agent": "pulse-alerts",
                                              **headers})
    try:
        with _opener.open(request, timeout=TIMEOUT_S) as answer:
            answer.read(4096)
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"HTTP {exc.code} from the destination") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"could not reach the destination: {type(reason).__name__}") from None


def send_mail(msg: EmailMessage, host: str, port: int, starttls: bool, user: str, password: str | None) -> None:
    try:
        with smtplib.SMTP(host, port, timeout=TIMEOUT_S) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if user and password:
                smtp.login(user, password)
            smtp.send_message(msg)
    except (smtplib.SMTPException, OSError) as exc:
        code = getattr(exc, "smtp_code", None)
        raise DeliveryError(f"SMTP {type(exc).__name__}" + (f" {code}" if code else "")) from None


def deliver(rule: Rule, moment: alerts.Moment, dashboard_url: str) -> None:
    """One attempt; raises DeliveryError when the destination did not accept it."""
    dest = rule.destination
    if isinstance(dest, Slack):
        post(dest.url, json.dumps(alerts.slack_payload(moment, dashboard_url)).encode(), {})
    elif isinstance(dest, Webhook):
        body = alerts.webhook_body(rule, moment, dashboard_url)
        headers = signatures.headers(dest.secret, int(time.time()), body)
        post(dest.url, body, {**headers, alerts.DELIVERY_HEADER: f"{rule.name}:{moment.change_id}"})
    elif isinstance(dest, Email):
        send_mail(alerts.email_message(dest, moment, dashboard_url), dest.host, dest.port, dest.starttls,
                  dest.user, dest.password)
