"""`pulse accounts|contacts|programs import FILE`, `pulse reresolve`, `pulse rescore`.

Registry changes travel through Kafka (the registry topic) so every worker picks them up live;
nothing here opens the ClickHouse data.
"""
from __future__ import annotations

import re
import sys
from datetime import datetime, timezone
from pathlib import Path

from schemas.settings import Settings
from schemas import registry_csv
from schemas.registry import RescoreRequested, encode_change
from schemas import topics

_PARSERS = {
    "accounts": (registry_csv.parse_accounts, "publish_accounts"),
    "contacts": (registry_csv.parse_contacts, "publish_contacts"),
    "programs": (registry_csv.parse_programs, "publish_programs"),
}


def cmd_import(args) -> int:
    from streams import producer as kafka

    parse, publish = _PARSERS[args.kind]
    path = Path(args.file)
    if not path.exists():
        print(f"pulse: {path} does not exist", file=sys.stderr)
        return 1
    try:
        with path.open(newline="", encoding="utf-8-sig") as handle:
            records, errors = parse(handle)
    except (ValueError, UnicodeDecodeError) as exc:
        print(f"pulse: {path}: {exc}", file=sys.stderr)
        return 1
    for error in errors:
        print(f"{path}: {error}", file=sys.stderr)
    if records:
        settings = Settings.from_env()
        p = kafka.producer(settings)
        getattr(kafka, publish)(p, settings, records)
        p.close()
    print(f"{args.kind}: {len(records)} imported, {len(errors)} rejected"
          + (" (see the lines above)" if errors else ""))
    return 0 if records or not errors else 1


def parse_since(text: str) -> int:
    match = re.fullmatch(r"(\d+)d", text.strip())
    if not match:
        raise ValueError(f"--since {text!r}: use a number of days, e.g. 90d")
    return int(match.group(1))


def cmd_rescore(args) -> int:
    from streams import producer as kafka

    try:
        days = parse_since(args.since)
    except ValueError as exc:
        print(f"pulse: {exc}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    p = kafka.producer(settings)
    p.send(settings.topic(topics.REGISTRY),
           encode_change(RescoreRequested(since_days=days, requested_at=datetime.now(timezone.utc))))
    p.flush()
    p.close()
    print(f"asked the workers to re-resolve and re-score touches of the last {days} days "
          "(with the current registry, identities and weights file); numbers update as it runs")
    return 0


def register(sub) -> None:
    for kind in ("accounts", "contacts", "programs"):
        parser = sub.add_parser(kind, help=f"manage {kind} (import a CSV)")
        verbs = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
        imp = verbs.add_parser("import", help=f"import or update {kind} from a CSV file")
        imp.add_argument("file")
        imp.set_defaults(func=cmd_import, kind=kind)
    for name, text in (("reresolve", "re-attribute stored touches with the current registry and identities"),
                       ("rescore", "re-score stored touches after a change of weights.toml")):
        parser = sub.add_parser(name, help=text)
        parser.add_argument("--since", default="400d" if name == "rescore" else "90d",
                            help="how far back, in days (e.g. 90d)")
        parser.set_defaults(func=cmd_rescore)
