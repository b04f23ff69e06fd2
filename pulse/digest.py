"""The daily digest: the Overview's tiles (month to date beside year to date), the accounts that became MQA or
surged since the last digest, and a link to the dashboard, as one HTML email.

Reading goes through the SQL endpoint (pulse/digest_queries.py), like the dashboard; rendering is pure (every
value from the data is HTML-escaped: an account name is input from a CRM, never markup); sending is one SMTP
conversation (streams/alert_senders.send_mail). "Since the last digest" is since the previous scheduled one:
PULSE_DIGEST_AT yesterday for a scheduled digest, 24 hours before for `--now`.
"""
from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from email.message import EmailMessage
from zoneinfo import ZoneInfo

from pulse import digest_queries as q
from schemas.settings import Settings
from streams.core.alerts import account_url, one_line
from ui.format import minutes, money


@dataclass
class Digest:
    at: datetime                       # when it was made (UTC)
    since: datetime                    # the previous digest's time
    stages: dict                       # targets, aware, engaged, mqa
    tiles: dict[str, dict]             # period (mtd, ytd) -> minutes, new_mqas, pipeline_created, won, new_customers
    became_mqa: list[tuple]            # (account_id, name, owner, tier, at, minutes_90d)
    surging: list[tuple]               # (account_id, name, owner, tier, at, minutes_7d)


def next_run(now: datetime, at: str, tz: str) -> datetime:
    """The next PULSE_DIGEST_AT (HH:MM in the reporting time zone) strictly after `now`, in UTC."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    hour, minute = map(int, at.split(":"))
    candidate = datetime.combine(local.date(), time(hour, minute), zone)
    if candidate <= local:
        candidate = datetime.combine(local.date() + timedelta(days=1), time(hour, minute), zone)
    return candidate.astimezone(timezone.utc)


def fetch(client, settings: Settings, now: datetime, since: datetime) -> Digest:
    ms = {"since_ms": int(since.timestamp() * 1000)}
    stages = client.query(q.STAGES).named_results()
    tiles = {period: {"pipeline_created": created, "won": won, "new_customers": customers}
             for period, created, won, customers in client.query(q.REVENUE).result_rows}
    for row in client.query(q.ENGAGEMENT, parameters={"tz": settings.reporting_tz}).result_rows:
        for period, minutes_, mqas in (("mtd", row[0], row[2]), ("ytd", row[1], row[3])):
            tiles.setdefault(period, {}).update(minutes=minutes_, new_mqas=mqas)
    return Digest(now, since, next(iter(stages), {}), tiles, client.query(q.BECAME_MQA, parameters=ms).result_rows,
                  client.query(q.SURGING, parameters=ms).result_rows)


_TILES = (("minutes", "Engagement minutes (target accounts)", lambda v, c: minutes(float(v or 0))),
          ("new_mqas", "New MQAs (target accounts)", lambda v, c: f"{int(v or 0):,}"),
          ("pipeline_created", "Pipeline created", money),
          ("won", "Won revenue", money),
          ("new_customers", "New customers", lambda v, c: f"{int(v or 0):,}"))
_CELL = "padding:8px 12px;border:1px solid #e3e6ea;"


def render(d: Digest, settings: Settings) -> tuple[str, str]:
    """(subject, HTML) of the digest."""
    e = html.escape
    day = d.at.astimezone(ZoneInfo(settings.reporting_tz)).strftime("%A %-d %B %Y")
    subject = f"pulse daily digest · {day}"
    rows = "".join(
        f"<tr><td style=\"{_CELL}\">{e(label)}</td>"
        + "".join(f"<td class=\"tile\" style=\"{_CELL}text-align:right;font-size:18px;font-weight:600\">"
                  f"{e(fmt(d.tiles.get(p, {}).get(key), settings.currency))}</td>" for p in ("mtd", "ytd"))
        + "</tr>" for key, label, fmt in _TILES)
    s = d.stages
    stage_line = (f"{int(s.get('targets') or 0):,} target accounts: {int(s.get('aware') or 0):,} aware, "
                  f"{int(s.get('engaged') or 0):,} engaged, {int(s.get('mqa') or 0):,} MQA")
    body = (
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>" + e(subject) + "</title></head>"
        "<body style=\"font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;color:#1f2933;"
        "max-width:720px;margin:24px auto;padding:0 16px\">"
        f"<h1 style=\"font-size:22px\">{e(subject)}</h1><p>{e(stage_line)}</p>"
        f"<table style=\"border-collapse:collapse;width:100%\"><tr><th style=\"{_CELL}text-align:left\"></th>"
        f"<th style=\"{_CELL}text-align:right\">Month to date</th><th style=\"{_CELL}text-align:right\">Year to date"
        f"</th></tr>{rows}</table>"
        + _accounts("Became MQA", d.became_mqa, "minutes in 90 days", settings)
        + _accounts("Surging", d.surging, "minutes in 7 days", settings)
        + f"<p style=\"margin-top:24px\"><a href=\"{e(settings.dashboard_url)}\" style=\"background:#3b5bdb;"
        "color:#fff;padding:10px 16px;border-radius:6px;text-decoration:none\">Open the dashboard</a></p>"
        f"<p style=\"color:#6b7785;font-size:12px\">Since {e(_when(d.since, settings))}. Sent by pulse at "
        f"{e(_when(d.at, settings))}.</p></body></html>")
    return subject, body


def _when(at: datetime, settings: Settings) -> str:
    return at.astimezone(ZoneInfo(settings.reporting_tz)).strftime(f"%Y-%m-%d %H:%M {settings.reporting_tz}")


def _accounts(title: str, rows: list[tuple], unit: str, settings: Settings) -> str:
    e = html.escape
    if not rows:
        return f"<h2 style=\"font-size:17px;margin-top:24px\">{e(title)}</h2><p>None since the last digest.</p>"
    items = "".join(
        f"<tr><td style=\"{_CELL}\"><a href=\"{e(account_url(settings.dashboard_url, account_id))}\">"
        f"{e(one_line(name or account_id))}</a></td><td style=\"{_CELL}\">{e(owner or '—')}</td>"
        f"<td style=\"{_CELL}\">{e(tier or '—')}</td><td style=\"{_CELL}text-align:right\">{float(value or 0):,.1f} "
        f"{e(unit)}</td></tr>" for account_id, name, owner, tier, _, value in rows)
    return (f"<h2 style=\"font-size:17px;margin-top:24px\">{e(title)} ({len(rows)})</h2>"
            f"<table style=\"border-collapse:collapse;width:100%\"><tr><th style=\"{_CELL}text-align:left\">Account"
            f"</th><th style=\"{_CELL}text-align:left\">Owner</th><th style=\"{_CELL}text-align:left\">Tier</th>"
            f"<th style=\"{_CELL}\"></th></tr>{items}</table>")


def message(subject: str, page: str, settings: Settings) -> EmailMessage:
    msg = EmailMessage()
    msg["Subject"], msg["From"], msg["To"] = subject, settings.digest_from, ", ".join(settings.digest_to)
    msg.set_content(f"{subject}\n\nThis digest is an HTML email. Open the dashboard: {settings.dashboard_url}\n")
    msg.add_alternative(page, subtype="html")
    return msg
