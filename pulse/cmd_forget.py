"""`pulse forget --email EMAIL --anonymous-id ID --file FILE`: erase people (GDPR / CCPA; README, Erasure).

Like every write of the CLI this goes through Kafka (the worker owns the store): one request per
identifier on the erasure topic, then the command waits for the worker's entry in `erasure_log` (read
through the SQL endpoint) and says what was deleted. The output names identifiers by their hash only,
as the log does: a terminal's scroll-back or a ticket the output is pasted into keeps no identifier.
"""
from __future__ import annotations

import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from schemas.settings import Settings

MAX_FILE_BYTES = 10_000_000
_EARLIER = """
SELECT identifier_hash, min(erased_at) FROM erasure_log
WHERE identifier_hash IN %(hashes)s AND request_id NOT IN %(ids)s AND erased_at > toDateTime64(0, 3, 'UTC')
GROUP BY identifier_hash
"""


@dataclass(frozen=True)
class Item:
    kind: str
    value: str
    where: str  # "--email #1", "people.txt line 3": how the output names it
    hash: str = ""
    request_id: str = ""


def register(sub) -> None:
    p = sub.add_parser("forget", help="erase a person (GDPR / CCPA): touches, identity links, contact, lifecycle "
                                      "changes, dead letters; their minutes leave the totals")
    p.add_argument("--email", action="append", default=[], help="an email to erase (repeatable)")
    p.add_argument("--anonymous-id", action="append", default=[], dest="anonymous_ids", metavar="ID",
                   help="a website cookie id to erase (repeatable)")
    p.add_argument("--file", type=Path, help="one identifier per line: an email (has @) or an anonymous id; "
                                             "`email:` / `anonymous_id:` prefixes say which; # comments")
    p.add_argument("--timeout", type=float, default=300.0,
                   help="seconds to wait for the worker's confirmation (0: send and do not wait)")
    p.set_defaults(func=cmd_forget)


def collect(args) -> tuple[list[Item], list[str]]:
    """The identifiers, checked, in order, each once; and the problems (nothing is sent if any)."""
    from streams.core.erasure import ErasureInputError, normal

    raw = [("email", v, f"--email #{i}") for i, v in enumerate(args.email, 1)]
    raw += [("anonymous_id", v, f"--anonymous-id #{i}") for i, v in enumerate(args.anonymous_ids, 1)]
    problems: list[str] = []
    if args.file is not None:
        raw += _file_lines(args.file, problems)
    items, seen = [], set()
    for kind, value, where in raw:
        try:
            value = normal(kind, value)
        except ErasureInputError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if (kind, value) not in seen:
            seen.add((kind, value))
            items.append(Item(kind, value, where))
    if not items and not problems:
        problems.append("name someone: --email EMAIL, --anonymous-id ID or --file FILE")
    return items, problems


def _file_lines(path: Path, problems: list[str]) -> list[tuple[str, str, str]]:
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            problems.append(f"{path}: larger than {MAX_FILE_BYTES:,} bytes; split it")
            return []
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problems.append(f"{path}: cannot read it: {exc}")
        return []
    out = []
    for n, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        kind, _, rest = line.partition(":")
        if kind in ("email", "anonymous_id") and rest:
            out.append((kind, rest, f"{path.name} line {n}"))
        else:
            out.append(("email" if "@" in line else "anonymous_id", line, f"{path.name} line {n}"))
    return out


def cmd_forget(args) -> int:
    from streams.core.erasure import identifier_hash

    settings = Settings.from_env()
    items, problems = collect(args)
    if problems:
        print("pulse forget: nothing sent:\n  " + "\n  ".join(problems), file=sys.stderr)
        return 2
    items = [Item(i.kind, i.value, i.where, identifier_hash(settings.database, i.kind, i.value), uuid.uuid4().hex)
             for i in items]
    try:
        _send(settings, items)
    except Exception as exc:  # the broker is not there: one line, not a traceback
        print(f"pulse forget: could not send to Kafka at {settings.bootstrap}: {exc or type(exc).__name__}",
              file=sys.stderr)
        return 1
    if args.timeout <= 0:
        print(f"sent {len(items)} erasure request(s); the worker erases them and logs each in erasure_log")
        return 0
    return _report(settings, items, args.timeout)


def _send(settings: Settings, items: list[Item]) -> None:
    from streams import erasure
    from streams.producer import producer

    erasure.ensure_topic(settings)
    p = producer(settings)
    try:
        for item in items:
            p.send(erasure.topic_name(settings), erasure.request_for(item.kind, item.value, item.request_id))
        p.flush()
    finally:
        p.close()


def _report(settings: Settings, items: list[Item], timeout: float) -> int:
    done, earlier = _wait(settings, items, timeout)
    for item in items:
        name = f"{item.where} ({item.kind} sha256 {item.hash[:16]})"
        row = done.get(item.request_id)
        if row is None:
            print(f"{name}: sent, not confirmed within {timeout:g} s", file=sys.stderr)
        elif row[-1] == 0 and item.hash in earlier:
            print(f"{name}: already erased on {earlier[item.hash]:%Y-%m-%d %H:%M} UTC; nothing more was stored")
        elif row[-1] == 0:
            print(f"{name}: unknown: nothing stored for it; its events are dropped from now on")
        else:
            touches, links, contacts, lifecycle, rejected, engagement, minutes = row[1:8]
            print(f"{name}: erased {touches} touches ({minutes} engagement minutes, {engagement} aggregate rows), "
                  f"{links} identity links, {contacts} contact records, {lifecycle} lifecycle changes, "
                  f"{rejected} dead letters")
    if len(done) < len(items):
        print("pulse forget: the requests wait on the erasure topic (kept 7 days) until a worker takes them; "
              "`pulse sql \"SELECT * FROM erasure_log\"` shows them once done", file=sys.stderr)
        return 1
    return 0


def _wait(settings: Settings, items: list[Item], timeout: float) -> tuple[dict[str, tuple], dict]:
    """The log's rows of these requests, as the worker writes them, until all are there or the time is up."""
    from sinks.client import reader_client
    from sinks.erasure import ANSWERS

    ids, deadline, done = [i.request_id for i in items], time.monotonic() + timeout, {}
    while True:
        try:
            client = reader_client(settings)
            try:
                answers = client.query(ANSWERS.format(db=settings.database), parameters={"ids": ids})
                done = {r[0]: r for r in answers.result_rows}
                if len(done) == len(ids) or time.monotonic() >= deadline:
                    earlier = dict(client.query(_EARLIER, parameters={
                        "hashes": [i.hash for i in items], "ids": ids}).result_rows)
                    return done, earlier
            finally:
                client.close()
        except Exception:  # no worker answers yet (starting, or not running): keep asking until the deadline
            if time.monotonic() >= deadline:
                return done, {}
        time.sleep(0.5)
