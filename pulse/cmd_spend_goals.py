"""`pulse spend import spend.csv` and `pulse goals import goals.csv`: money spent per month and the
month's revenue targets, through Kafka.

Both are dimensions, like the programs: the rows travel on the registry topic (every worker reads it
whole and stores them), stamped with the import's time, so the latest import of a (month, category)
or (month, metric) wins, however often a worker replays the topic. Rejected rows are printed with
their line and every problem, and kept on the dead-letter topic; the valid rows still load.
"""
from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

import msgspec

from schemas import topics
from schemas.money_csv import GOALS, ImportRefused, Layout, read, spend_layout
from schemas.registry import GoalsChanged, SpendChanged
from schemas.settings import Settings

MAX_BYTES = 10 * 1024 * 1024  # a year of monthly rows is a few kilobytes; anything near this is not such a file


def cmd_import(args) -> int:
    settings = Settings.from_env()
    layout = spend_layout(settings.currency) if args.kind == "spend" else GOALS
    path = Path(args.file)
    if not path.is_file():
        print(f"pulse: {path} does not exist", file=sys.stderr)
        return 1
    raw = path.read_bytes()
    if len(raw) > MAX_BYTES:
        print(f"pulse: {path}: {len(raw):,} bytes is not a {layout.what} file (at most {MAX_BYTES:,}); "
              "nothing imported", file=sys.stderr)
        return 1
    try:
        ignored, records, rejected = read(raw.decode(args.encoding), layout)
    except UnicodeDecodeError as exc:
        print(f"pulse: {path}: not {args.encoding} (invalid byte at position {exc.start}); save it as UTF-8, or "
              "name its encoding with --encoding (e.g. cp1252, latin-1); nothing imported", file=sys.stderr)
        return 1
    except LookupError:
        print(f"pulse: --encoding {args.encoding!r} is not an encoding Python knows", file=sys.stderr)
        return 2
    except ImportRefused as exc:
        print(f"pulse: {path}: {exc}; nothing imported", file=sys.stderr)
        return 1
    if ignored:
        print(f"{path}: columns not imported: {', '.join(ignored)}", file=sys.stderr)
    for row in rejected:
        print(f"{path}:{row.line}: " + "; ".join(f"{f}: {r}" for f, r in row.problems), file=sys.stderr)
    if not records and not rejected:
        print(f"pulse: {path}: only a header row: nothing to import", file=sys.stderr)
        return 1
    _send(settings, path, layout, records, rejected)
    print(f"{layout.what}: {len(records)} rows sent, {len(rejected)} rejected"
          + (" (lines above; kept on the dead-letter topic)" if rejected else ""))
    return 1 if rejected else 0


def _send(settings: Settings, path: Path, layout: Layout, records: list, rejected: list) -> None:
    from streams import producer as kafka
    from streams.kafka_admin import ensure_topics

    ensure_topics(settings)
    p = kafka.producer(settings)
    try:
        change = SpendChanged if layout.what == "spend" else GoalsChanged
        if records:
            kafka.publish_dated(p, settings, change, records, datetime.now(timezone.utc))
        for row in rejected:
            reasons = [{"field": "$line", "reason": f"{path}:{row.line}"},
                       *({"field": f, "reason": r} for f, r in row.problems)]
            p.send(settings.topic(topics.DEADLETTER), msgspec.json.encode(
                {"source": f"{layout.what} import", "reasons": reasons,
                 "payload": msgspec.json.encode(row.cells).decode()}))
        p.flush()
    finally:
        p.close()


def register(sub) -> None:
    for kind, text, columns in (
            ("spend", "money spent per month (salaries, tools, agencies): the spend of CAC", "month,category,amount"),
            ("goals", "monthly targets for pipeline created, won revenue and new customers", "month,metric,target")):
        parser = sub.add_parser(kind, help=text)
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        imp = verbs.add_parser("import", help=f"import {kind} from a CSV file ({columns}); the latest import of a "
                                              f"month and {columns.split(',')[1]} wins")
        imp.add_argument("file")
        imp.add_argument("--encoding", default="utf-8-sig",
                         help="the file's encoding (default UTF-8, with or without BOM)")
        imp.set_defaults(func=cmd_import, kind=kind)
