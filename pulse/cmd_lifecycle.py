"""`pulse lifecycle import FILE.csv [--from hubspot|salesforce]`: people's lifecycle history through Kafka.

Each row becomes lifecycle changes validated as `pulse send` validates events and produced the same way
(valid ones to the touches topic, a rejected row to the dead-letter topic), so the worker stores each
change once: a preset's change has an id from (email, stage, instant), and re-importing changes nothing.
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
from schemas.lifecycle_csv import Options, read
from schemas.opportunity_csv import ImportRefused
from schemas.settings import Settings


def cmd_import(args) -> int:
    settings = Settings.from_env()
    path = Path(args.file)
    if not path.is_file():
        print(f"pulse: {path} does not exist", file=sys.stderr)
        return 1
    options = Options(preset=args.preset, tz=ZoneInfo(settings.reporting_tz), now=datetime.now(timezone.utc),
                      max_age=settings.max_event_age, stages=settings.lifecycle_stages, day_first=args.day_first)
    try:
        with path.open("rb") as raw:
            text = io.TextIOWrapper(raw, encoding=args.encoding, errors="strict", newline="")
            ignored, rows = read(text, options)
            if ignored:
                print(f"{path}: columns not imported: {', '.join(ignored)}", file=sys.stderr)
            return _send(args, settings, path, rows)
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


def _send(args, settings: Settings, path: Path, rows) -> int:
    from streams import producer as kafka
    from streams.kafka_admin import ensure_topics

    if not args.dry_run:
        ensure_topics(settings)
    p = None if args.dry_run else kafka.producer(settings)
    counts = {"rows": 0, "changes": 0, "rejected": 0, "too_old": 0}
    batch: list = []
    try:
        for row in rows:
            counts["rows"] += 1
            counts["too_old"] += row.too_old
            if row.problems:
                counts["rejected"] += 1
                _reject(p, settings, path, row)
                continue
            batch.extend(row.events)
            counts["changes"] += len(row.events)
            if len(batch) >= CHUNK:
                _flush(p, settings, batch)
        _flush(p, settings, batch)
    finally:
        if p is not None:
            p.flush()
            p.close()
    return _summary(args, path, counts)


def _reject(p, settings: Settings, path: Path, row) -> None:
    print(f"{path}:{row.line}: " + "; ".join(f"{f}: {r}" for f, r in row.problems), file=sys.stderr)
    if p is None:
        return
    reasons = [{"field": "$line", "reason": f"{path}:{row.line}"}, *({"field": f, "reason": r} for f, r in row.problems)]
    p.send(settings.topic(topics.DEADLETTER), msgspec.json.encode(
        {"source": "lifecycle import", "reasons": reasons, "payload": msgspec.json.encode(row.cells).decode()}))


def _summary(args, path: Path, counts: dict[str, int]) -> int:
    if counts["rows"] == 0:
        print(f"pulse: {path}: only a header row: no people in the file", file=sys.stderr)
        return 1
    verb = "valid (dry run, nothing sent)" if args.dry_run else "sent"
    print(f"lifecycle: {counts['changes']} changes {verb} from {counts['rows'] - counts['rejected']} rows, "
          f"{counts['rejected']} rows rejected"
          + (" (lines above; kept on the dead-letter topic)" if counts["rejected"] and not args.dry_run else ""))
    if counts["too_old"]:
        print(f"lifecycle: {counts['too_old']} stage dates older than the retention window (PULSE_RETENTION_MONTHS) "
              "left out", file=sys.stderr)
    return 1 if counts["rejected"] else 0


def register(sub) -> None:
    parser = sub.add_parser("lifecycle", help="people's CRM lifecycle stages (import a history CSV)")
    verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    imp = verbs.add_parser("import", help="import lifecycle changes from a CSV (the contract's columns, or a "
                                          "HubSpot contacts export / Salesforce lead or contact report with --from)")
    imp.add_argument("file")
    imp.add_argument("--from", dest="preset", choices=("pulse", "hubspot", "salesforce"), default="pulse",
                     help="whose column names the file has (default: the contract's field names, one change a row)")
    imp.add_argument("--day-first", action="store_true", help="dates like 5/3/2024 are day/month/year")
    imp.add_argument("--encoding", default="utf-8-sig", help="the file's encoding (default UTF-8, with or without BOM)")
    imp.add_argument("--dry-run", action="store_true", help="check and report only; send nothing")
    imp.set_defaults(func=cmd_import)
