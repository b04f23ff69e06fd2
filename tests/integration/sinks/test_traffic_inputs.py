"""traffic_inputs (migration 0048), the behaviour rules' inputs kept by group, against the current version of
every touch on random histories: page views, heartbeats, opens and clicks with and without a cookie, an
address or an email, then rounds of new versions that re-classify touches (several in a row); before and after
merges, and after the migration's backfill from the stored touches (run twice). Derived here in Python from
the rows written, not by the SQL under test."""
from __future__ import annotations

import json
import random
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from schemas.rows import TouchRow
from kept_tables import kept_through_merges_and_backfill, written_with_versions

NOW = datetime.now(timezone.utc).replace(microsecond=0)
KEPT = ("SELECT day, rule, key, program_id, event_id, type, ms, url, engaged, pixel, traffic, traffic_reason "
        "FROM {db}.traffic_inputs FINAL")
TYPES = ("page_view", "page_engagement", "email_open", "email_click", "meeting")


def touch(rng: random.Random) -> TouchRow:
    at = NOW - timedelta(minutes=rng.randint(0, 5_000), milliseconds=rng.randint(0, 999))
    kind = rng.choice(TYPES)
    payload = {"engaged_seconds": rng.randint(0, 30)} if kind.startswith("page") else {}
    if kind == "page_view" and rng.random() < 0.2:
        payload["source"] = "pixel"
    return TouchRow(uuid.UUID(int=rng.getrandbits(128)), kind, at, at, at.date(), "a-1", "p", "contact",
                    "email" if kind.startswith("email") else "web", rng.choice(["", "nov", "dec"]),
                    Decimal(1), Decimal(1), 0, rng.choice(["", "ana@x.example", "bob@x.example"]),
                    rng.choice(["", "c-1", "c-2"]), rng.choice(["", "198.51.100.0"]),
                    f"https://x.example/{rng.randint(0, 3)}", json.dumps(payload))


def reclassified(rng: random.Random, row: TouchRow) -> TouchRow:
    traffic, reason = rng.choice([("bot", "rate:31/min"), ("scanner", "scanner:links_within_10s"), ("person", "")])
    return msgspec.structs.replace(row, traffic=traffic, traffic_reason=reason, retracts=1,
                                   prev_account_id=row.account_id, prev_person=row.person,
                                   prev_minutes=row.minutes, prev_base_minutes=row.base_minutes)


def expected(current: dict[uuid.UUID, TouchRow]) -> list[tuple]:
    """The rules' inputs of each judged touch, as the rules define them (sinks/traffic_sql.py)."""
    out = []
    for t in current.values():
        mail = t.type.startswith("email")
        if t.type == "meeting" or (mail and not t.email) or (not mail and not (t.anonymous_id or t.ip)):
            continue
        rule = "mail" if mail else "web" if t.anonymous_id else "web_ip"
        key = t.email if mail else t.anonymous_id or t.ip
        payload = json.loads(t.payload)
        ms = int(t.occurred_at.timestamp()) * 1000 + t.occurred_at.microsecond // 1000
        out.append((t.day, rule, key, t.program_id if mail else "", t.event_id, t.type, ms,
                    t.url if t.type == "email_click" else "", payload.get("engaged_seconds", 0),
                    int(payload.get("source") == "pixel"), t.traffic, t.traffic_reason))
    return sorted(out)


def rows(client, db: str) -> list[tuple]:
    return sorted(client.query(KEPT.format(db=db)).result_rows)


@pytest.mark.parametrize("seed", [1, 2])
def test_kept_inputs_are_the_current_touches_inputs(engine, seed):
    client, settings = engine
    current = written_with_versions(engine, random.Random(seed), touch, reclassified, touches=400, rounds=4,
                                    per_round=80)
    want = expected(current)
    assert len(want) > 150 and {r[1] for r in want} == {"web", "web_ip", "mail"}
    kept_through_merges_and_backfill(engine, "traffic_inputs", "0048_traffic_inputs.sql", 1,
                                     lambda: rows(client, settings.database), lambda: want)
