"""`pulse send FILE` (imports and replays through the same validation as the hooks) and `pulse sign`
(signed email links for a campaign and recipient, and webhook signature headers for a body)."""
from __future__ import annotations

import csv
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from schemas.settings import Settings, SettingsError
from schemas import topics
from schemas.event_files import guess_format, read_csv, read_jsonl
from schemas.validate import Accepted, validate

CHUNK = 500


def cmd_send(args) -> int:
    from streams import producer as kafka

    settings = Settings.from_env()
    path = Path(args.file)
    if args.file != "-" and not path.is_file():
        print(f"pulse send: {path} does not exist", file=sys.stderr)
        return 1
    fmt = args.format or guess_format(args.file)
    handle = sys.stdin.buffer if args.file == "-" else path.open("rb")
    reader = read_csv(handle) if fmt == "csv" else read_jsonl(handle)
    if not args.dry_run:
        from streams.kafka_admin import ensure_topics

        ensure_topics(settings)
    p = None if args.dry_run else kafka.producer(settings)
    deadletter = settings.topic(topics.DEADLETTER)
    sent = rejected = 0
    batch = []
    try:
        for number, value, problem in reader:
            now = datetime.now(timezone.utc)
            if problem is None:
                result = validate(value, now=now, max_age=settings.max_event_age, currency=settings.currency,
                                  stages=settings.lifecycle_stages)
                if isinstance(result, Accepted):
                    batch.append(result.event)
                    if len(batch) >= CHUNK:
                        sent += _flush(p, settings, batch)
                    continue
                reasons = result.reasons()
            else:
                reasons = [{"field": "$", "reason": problem}]
            rejected += 1
            shown = "; ".join(f"{r['field']}: {r['reason']}" for r in reasons)
            print(f"{args.file}:{number}: {shown}", file=sys.stderr)
            if p is not None:
                payload = value if isinstance(value, str) else msgspec.json.encode(value).decode()
                reasons = [{"field": "$line", "reason": f"{args.file}:{number}"}, *reasons]
                p.send(deadletter, msgspec.json.encode({"source": "send", "reasons": reasons, "payload": payload}))
        sent += _flush(p, settings, batch)
    finally:
        if p is not None:
            p.flush()
            p.close()
        if handle is not sys.stdin.buffer:
            handle.close()
    verb = "valid (dry run, nothing sent)" if args.dry_run else "sent"
    print(f"{sent} events {verb}, {rejected} rejected" + (" (lines above; kept on the dead-letter topic)"
                                                           if rejected and not args.dry_run else ""))
    return 0 if not rejected else 1


def _flush(p, settings: Settings, batch: list) -> int:
    from streams import producer as kafka

    n = len(batch)
    if p is not None and batch:
        kafka.send_events(p, settings, batch)
    batch.clear()
    return n


def cmd_sign(args) -> int:
    from streams.tracking import signatures, tokens

    settings = Settings.from_env()
    if args.body is not None:
        if not settings.hook_secrets:
            raise SettingsError("PULSE_HOOK_SECRET is not set: there is no secret to sign webhooks with")
        body = sys.stdin.buffer.read() if args.body == "-" else Path(args.body).read_bytes()
        for name, value in signatures.headers(settings.hook_secrets[0], int(time.time()), body).items():
            print(f"{name}: {value}")
        return 0
    if not settings.link_secrets:
        raise SettingsError("PULSE_LINK_SECRET is not set: there is no secret to sign email links with")
    if not args.campaign or not args.recipient:
        print("pulse sign: give --campaign and at least one --recipient (or --body FILE for a webhook)", file=sys.stderr)
        return 2
    for url in args.url:
        if not tokens.is_web_url(url):
            print(f"pulse sign: --url {url!r} is not an http(s) URL", file=sys.stderr)
            return 2
    base = args.base_url or settings.hooks_url
    secret, issued = settings.link_secrets[0], int(time.time())
    recipients = [r.strip().lower() for r in args.recipient]
    if len(recipients) == 1:
        print(f"open  {tokens.open_link(base, secret, args.campaign, recipients[0], issued)}")
        for url in args.url:
            print(f"click {tokens.click_link(base, secret, args.campaign, recipients[0], issued, url)}")
        return 0
    # Several recipients: CSV for the email tool's mail merge.
    out = csv.writer(sys.stdout)
    out.writerow(["recipient", "open_pixel", *[f"click_{i + 1}" for i in range(len(args.url))]])
    for recipient in recipients:
        out.writerow([recipient, tokens.open_link(base, secret, args.campaign, recipient, issued),
                      *[tokens.click_link(base, secret, args.campaign, recipient, issued, u) for u in args.url]])
    return 0


def register(sub) -> None:
    p = sub.add_parser("send", help="validate events from a file (JSON lines or CSV) and produce them to Kafka")
    p.add_argument("file", help="path, or - for standard input")
    p.add_argument("--format", choices=("jsonl", "csv"), help="default: csv for *.csv, else JSON lines")
    p.add_argument("--dry-run", action="store_true", help="validate and report only; send nothing")
    p.set_defaults(func=cmd_send)
    p = sub.add_parser("sign", help="print signed email links (open pixel, clicks) or webhook signature headers")
    p.add_argument("--campaign", help="campaign id the links count for")
    p.add_argument("--recipient", action="append", default=[], help="recipient email (repeat for a CSV of many)")
    p.add_argument("--url", action="append", default=[], help="click destination to sign (repeatable)")
    p.add_argument("--base-url", help="public URL of the hooks (default: http://PULSE_HOOKS_HOST:PULSE_HOOKS_PORT)")
    p.add_argument("--body", help="sign this webhook body (file, or - for stdin) with PULSE_HOOK_SECRET instead")
    p.set_defaults(func=cmd_sign)
