"""`pulse opportunities import FILE.csv [--from hubspot|salesforce]`: CRM history through Kafka.

The rows become opportunity snapshots validated as `pulse send` validates events and produced the
same way (valid ones to the touches topic, rejected ones to the dead-letter topic), so the worker
stores each once: the ids come from the content, and re-importing a file changes nothing.
"""
from __future__ import annotations

import io
import sys
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import msgspec

from pulse.cmd_ingest import CHUNK, _flush  # the batching pulse send produces with
from schemas import topics
from schemas.opportunity_csv import ImportRefused, Options, read
from schemas.settings import Settings


def _stages(text: str) -> tuple[str, ...]:
    return tuple(s.strip() for s in (text or "").split(",") if s.strip())


def cmd_import(args) -> int:
    settings = Settings.from_env()
    path = Path(args.file)
    if not path.is_file():
        print(f"pulse: {path} does not exist", file=sys.stderr)
        return 1
    options = Options(preset=args.preset, tz=ZoneInfo(settings.reporting_tz), now=datetime.now(timezone.utc),
                      max_age=settings.max_event_age, currency=settings.currency, day_first=args.day_first,
                      won_stages=_stages(args.won_stages), lost_stages=_stages(args.lost_stages))
    with path.open("rb") as raw:
        text = io.TextIOWrapper(raw, encoding=args.encoding, errors="strict", newline="")
        try:
            ignored, rows = read(text, options)
            return _load(args, settings, path, ignored, rows)
        except ImportRefused as exc:
            print(f"pulse: {path}: {exc}; nothing imported", file=sys.stderr)
            return 1
        except UnicodeDecodeError as exc:
            print(f"pulse: {path}: not {args.encoding} (invalid byte at position {exc.start}); save the export as "
                  "UTF-8, or name its encoding with --encoding (e.g. cp1252, latin-1)", file=sys.stderr)
            return 1
        except LookupError:
            print(f"pulse: --encoding {args.encoding!r} is not an encoding Python knows", file=sys.stderr)
            return 2


def _load(args, settings: Settings, path: Path, ignored: list[str], rows) -> int:
    from streams import producer as kafka
    from streams.kafka_admin import ensure_topics

    if ignored:
        print(f"{path}: columns not imported: {', '.join(ignored)}", file=sys.stderr)
    if not args.dry_run:
        ensure_topics(settings)
    p = None if args.dry_run else kafka.producer(settings)
    deadletter = settings.topic(topics.DEADLETTER)
    sent = rejected = 0
    batch: list = []
    try:
        for row in rows:
            if row.event is not None:
                batch.append(row.event)
                if len(batch) >= CHUNK:
                    sent += _flush(p, settings, batch)
                continue
            rejected += 1
            print(f"{path}:{row.line}: " + "; ".join(f"{f}: {r}" for f, r in row.problems), file=sys.stderr)
            if p is not None:
                reasons = [{"field": "$line", "reason": f"{path}:{row.line}"},
                           *({"field": f, "reason": r} for f, r in row.problems)]
                payload = msgspec.json.encode(row.cells).decode()
                p.send(deadletter, msgspec.json.encode({"source": "opportunities import", "reasons": reasons,
                                                        "payload": payload}))
        sent += _flush(p, settings, batch)
    finally:
        if p is not None:
            p.flush()
            p.close()
    if sent == 0 and rejected == 0:
        print(f"pulse: {path}: only a header row: no opportunities in the file", file=sys.stderr)
        return 1
    verb = "valid (dry run, nothing sent)" if args.dry_run else "sent"
    print(f"opportunities: {sent} snapshots {verb}, {rejected} rejected"
          + (" (lines above; kept on the dead-letter topic)" if rejected and not args.dry_run else ""))
    return 1 if rejected else 0


def register(sub) -> None:
    parser = sub.add_parser("opportunities", help="CRM opportunities (import a history CSV)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    imp = verbs.add_parser("import", help="import opportunity snapshots from a CSV (the contract's columns, "
                                          "or a HubSpot / Salesforce export with --from)")
    imp.add_argument("file")
    imp.add_argument("--from", dest="preset", choices=("pulse", "hubspot", "salesforce"), default="pulse",
                     help="whose column names the file has (default: the contract's field names)")
    imp.add_argument("--won-stages", default="", help="custom stage names that mean closed-won (comma-separated)")
    imp.add_argument("--lost-stages", default="", help="custom stage names that mean closed-lost (comma-separated)")
    imp.add_argument("--day-first", action="store_true", help="dates like 5/3/2024 are day/month/year")
    imp.add_argument("--encoding", default="utf-8-sig", help="the file's encoding (default UTF-8, with or without BOM)")
    imp.add_argument("--dry-run", action="store_true", help="check and report only; send nothing")
    imp.set_defaults(func=cmd_import)
