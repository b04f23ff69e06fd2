"""Alerts, the pure part: which account moments a rule wants, when an attempt is due, and the messages.

A *moment* is something an alert is about, with a stable id (`change_id`) that deduplicates deliveries:
- became_mqa: a stage change to mqa (its change_id from stage_changes, `account:n`);
- surging / re_engaged: the account's flag in the latest evaluation, once per account and ISO week of its
  latest activity (`account:surging:2026-11-30`): a surge that lasts days is one alert, a surge next week another;
- first_meeting: the account's first meeting touch (`account:first_meeting`), once ever;
- sla_breach: an MQL whose first sales attempt did not come within PULSE_SLA_FIRST_TOUCH_HOURS
  (`account:sla_breach:<hash of person and mql time>`: no email address leaves in the id).

Every text that came from outside (account names, owners, tiers) is escaped for the channel it goes to:
Slack mrkdwn (&, <, > as entities, so no `<!channel>` and no `<url|link>` can be injected; *, _, ~ and `
as look-alikes, so a name formats nothing), HTML for email,
JSON for webhooks; header values lose control characters (no header injection).
"""
from __future__ import annotations

import html
import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import quote

from schemas.alert_rules import Email, Rule

DELIVERY_HEADER = "X-Pulse-Delivery"  # the receiver's idempotency key: rule:change_id


@dataclass(frozen=True)
class Moment:
    kind: str
    change_id: str
    account_id: str
    account_name: str
    owner: str
    tier: str
    is_target: bool
    at: datetime
    detail: str  # e.g. "142.50 minutes in 90 days"


@dataclass(frozen=True)
class State:
    """The latest recorded attempt of one (rule, change_id)."""
    status: str       # sent, retrying or failed
    attempts: int
    next_at: datetime | None


@dataclass(frozen=True)
class Attempt:
    rule: Rule
    moment: Moment
    number: int  # 1 for the first attempt


def matches(rule: Rule, m: Moment) -> bool:
    return (rule.kind == m.kind and (not rule.tiers or m.tier in rule.tiers)
            and (not rule.owners or m.owner in rule.owners)
            and (rule.target is None or rule.target == m.is_target))


def due(rules, moments, states: dict[tuple[str, str], State], now: datetime) -> list[Attempt]:
    """Attempts to make now: never for a sent or given-up (rule, moment); a retry once its time has come."""
    out = []
    for rule in rules:
        for m in moments:
            if not matches(rule, m):
                continue
            state = states.get((rule.name, m.change_id))
            if state is None:
                out.append(Attempt(rule, m, 1))
            elif state.status == "retrying" and (state.next_at is None or state.next_at <= now):
                out.append(Attempt(rule, m, state.attempts + 1))
    return out


def backoff(attempts: int, base_seconds: float) -> timedelta:
    """The wait after the `attempts`-th failure: base, 2 x base, 4 x base, ... (at most a day)."""
    return timedelta(seconds=min(86400.0, base_seconds * 2 ** (attempts - 1)))


def outcome(attempt: Attempt, error: str | None, now: datetime, base_seconds: float, max_attempts: int) -> list:
    """The alert_deliveries row of one attempt (see sinks/migrations/0016_alert_deliveries.sql)."""
    if error is None:
        status, next_at = "sent", None
    elif attempt.number >= max_attempts:
        status, next_at = "failed", None
    else:
        status, next_at = "retrying", now + backoff(attempt.number, base_seconds)
    m = attempt.moment
    return [attempt.rule.name, m.change_id, m.kind, m.account_id, attempt.rule.destination.kind, status,
            attempt.number, (error or "")[:500], now if error is None else None, now, next_at]


ROW_COLUMNS = ("rule", "change_id", "kind", "account_id", "destination", "status", "attempts", "last_error",
               "sent_at", "attempted_at", "next_at")

_WHAT = {"became_mqa": "became marketing-qualified (MQA)", "surging": "is surging",
         "re_engaged": "is engaged again after a quiet spell", "first_meeting": "had its first meeting",
         "sla_breach": "has an MQL without a sales attempt within the SLA"}


def one_line(text: str, limit: int = 200) -> str:
    """Control characters (newlines included) become spaces; cut to `limit`."""
    return "".join(c if c.isprintable() else " " for c in text)[:limit]


def headline(m: Moment) -> str:
    return one_line(f"{m.account_name or m.account_id} {_WHAT[m.kind]}")


def facts(m: Moment) -> str:
    parts = [m.detail, f"owner {m.owner}" if m.owner else "", f"tier {m.tier}" if m.tier else "",
             "target account" if m.is_target else ""]
    return one_line(" · ".join(p for p in parts if p), 500)


def account_url(dashboard_url: str, account_id: str) -> str:
    return f"{dashboard_url.rstrip('/')}/account?account={quote(account_id, safe='')}"


# Slack's mrkdwn has no escape for its formatting characters (a backslash shows as itself): in outside text
# each becomes the look-alike jsx-slack's <Escape> uses (docs/about-escape-and-exact-mode.md there), so a name
# like "*Acme* _Corp_" reads as written and can neither bold, italicise, strike nor open a code span. The
# full-width forms, which Slack also formats, likewise.
_SLACK_FORMATTING = str.maketrans({"*": "\u2217", "_": "\u02cd", "~": "\u223c", "`": "\u02cb",
                                   "\uff0a": "\ufe61", "\uff3f": "\u2e0f", "\uff40": "\u02cb"})


def slack_escape(text: str) -> str:
    """Outside text for Slack mrkdwn: its three control characters as entities (its formatting docs: no
    mention, link or channel), formatting characters as look-alikes, and a leading > (a quote) behind an
    invisible soft hyphen."""
    text = text.translate(_SLACK_FORMATTING).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return "\u00ad" + text if text.startswith(("&gt;", "\uff1e")) else text


def slack_payload(m: Moment, dashboard_url: str) -> dict:
    """An incoming webhook's JSON: `text` (the notification and fallback) and Block Kit `blocks`."""
    url = account_url(dashboard_url, m.account_id)
    title, more = slack_escape(headline(m)), slack_escape(facts(m))
    return {"text": f"{title}. {more}",
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": f"*{title}*\n{more}", "verbatim": True}},
                       {"type": "context", "elements": [{"type": "mrkdwn", "text": f"<{url}|Open in pulse>"}]}]}


def webhook_body(rule: Rule, m: Moment, dashboard_url: str) -> bytes:
    """The generic webhook's JSON (signed by the sender with the inbound webhooks' scheme)."""
    return json.dumps({
        "type": "pulse.alert", "rule": rule.name, "kind": m.kind, "change_id": m.change_id,
        "at": m.at.isoformat(), "summary": headline(m), "detail": m.detail,
        "account": {"id": m.account_id, "name": m.account_name, "owner": m.owner, "tier": m.tier,
                    "is_target": m.is_target},
        "url": account_url(dashboard_url, m.account_id)}, separators=(",", ":")).encode()


def email_message(dest: Email, m: Moment, dashboard_url: str) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"] = f"pulse: {headline(m)}"
    msg["From"], msg["To"] = dest.sender, ", ".join(dest.to)
    url = account_url(dashboard_url, m.account_id)
    msg.set_content(f"{headline(m)}.\n{facts(m)}\n\nOpen in pulse: {url}\n")
    e = html.escape
    msg.add_alternative(
        f"<html><body style=\"font-family:sans-serif\"><p><strong>{e(headline(m))}</strong></p>"
        f"<p>{e(facts(m))}</p><p><a href=\"{e(url)}\">Open in pulse</a></p></body></html>", subtype="html")
    return msg
