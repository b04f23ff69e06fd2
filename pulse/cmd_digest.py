"""`pulse digest`: the daily digest email at PULSE_DIGEST_AT (reporting time zone), `--now` once, or
`--preview FILE.html` to write the HTML without sending (pulse/digest.py)."""
from __future__ import annotations

import sys
import threading
from datetime import datetime, timedelta, timezone
from pathlib import Path

from schemas.settings import Settings


def _make(settings: Settings, now: datetime, since: datetime) -> tuple[str, str]:
    from pulse import digest
    from sinks.client import reader_client

    client = reader_client(settings)
    try:
        return digest.render(digest.fetch(client, settings, now, since), settings)
    finally:
        client.close()


def _send(settings: Settings, now: datetime) -> None:
    from pulse import digest
    from streams.alert_senders import send_mail

    subject, page = _make(settings, now, now - timedelta(days=1))
    send_mail(digest.message(subject, page, settings), settings.smtp_host, settings.smtp_port, settings.smtp_starttls,
              settings.smtp_user, settings.smtp_password)
    print(f"pulse: digest sent to {', '.join(settings.digest_to)}: {subject}")


def cmd_digest(args) -> int:
    from pulse import digest
    from streams.alert_senders import DeliveryError

    settings = Settings.from_env()
    now = datetime.now(timezone.utc)
    try:
        if args.preview:
            _, page = _make(settings, now, now - timedelta(days=1))
            Path(args.preview).write_text(page, encoding="utf-8")
            print(f"pulse: digest written to {args.preview}")
            return 0
        if not settings.digest_to:
            print("pulse: set PULSE_DIGEST_TO (the recipients) to send the digest", file=sys.stderr)
            return 1
        if args.now:
            _send(settings, now)
            return 0
        stop = threading.Event()
        while True:
            at = digest.next_run(datetime.now(timezone.utc), settings.digest_at, settings.reporting_tz)
            print(f"pulse: next digest at {at.isoformat()}", flush=True)
            if stop.wait(max(0.0, (at - datetime.now(timezone.utc)).total_seconds())):
                return 0
            try:
                _send(settings, at)
            except (DeliveryError, OSError) as exc:  # a bad day for the relay is not the end of the schedule
                print(f"pulse: the digest of {at.isoformat()} was not sent: {exc}", file=sys.stderr, flush=True)
    except DeliveryError as exc:
        print(f"pulse: the digest was not sent: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def register(sub) -> None:
    p = sub.add_parser("digest", help="email the daily digest at PULSE_DIGEST_AT (or --now; --preview FILE)")
    p.add_argument("--now", action="store_true", help="send one digest now and exit")
    p.add_argument("--preview", metavar="FILE.html", help="write the digest's HTML to FILE.html; send nothing")
    p.set_defaults(func=cmd_digest)
