"""Re-attribution: when an identify arrives, the registry changes or the weights change, stored touches
are scored again and every difference is written as a new version that takes the old one back.

Runs on the sink thread (synchronous ClickHouse calls), one step at a time, so a read-compare-write of
a touch never interleaves with another write of this worker.
"""
from __future__ import annotations

import hashlib
import logging
from datetime import datetime, timezone
from typing import Iterable, Sequence

import msgspec

from schemas.events import Identify, Touch
from schemas.registry import AccountRecord, ContactRecord
from schemas.rows import TOUCH_COLUMNS, TouchRow
from sinks.writer import ClickHouseWriter
from streams.core.score import Identities, Scoring, rescore
from streams.core.weights import Weights

log = logging.getLogger("pulse.attribution")
CHUNK = 50_000
# Beyond this many changed IP ranges, matching in SQL costs more than re-scoring every IP-resolved touch.
MAX_SQL_RANGES = 2_000


def load_identities(writer: ClickHouseWriter) -> Identities:
    rows = writer.client.query(
        f"SELECT anonymous_id, argMax(email, identified_at), max(identified_at) "
        f"FROM {writer.database}.identities GROUP BY anonymous_id"
    ).result_rows
    identities = Identities()
    identities.learn_links(rows)
    return identities


def identities_since(writer: ClickHouseWriter, since: datetime) -> list[tuple[str, str, datetime]]:
    """Identity links stored since `since`, by any worker.

    Each worker learns identifies from its own partitions; on a shared store another worker may hold
    the identify of a cookie whose touches reach this one. A periodic sync makes them agree within seconds.
    """
    return writer.client.query(
        f"SELECT anonymous_id, email, identified_at FROM {writer.database}.identities "
        f"WHERE stored_at >= fromUnixTimestamp64Milli(%(ms)s, 'UTC')",
        parameters={"ms": int(since.timestamp() * 1000)},
    ).result_rows


def store_identities(writer: ClickHouseWriter, events: Iterable[Touch]) -> None:
    rows = [[e.anonymous_id, e.email, e.occurred_at] for e in events if isinstance(e, Identify)]
    if rows:
        writer.client.insert(f"{writer.database}.identities", rows,
                             column_names=("anonymous_id", "email", "identified_at"))


def rescored(rows: Sequence[TouchRow], scoring: Scoring) -> list[TouchRow]:
    """New versions of the stored rows whose attribution or minutes changed."""
    return [v for v in (rescore(r, scoring) for r in rows) if v is not None]


def apply(writer: ClickHouseWriter, rows: Sequence[TouchRow], scoring: Scoring) -> int:
    """Re-score stored rows; write the ones whose attribution or minutes changed. Returns how many."""
    return writer.replace(rescored(rows, scoring))


def restitched(writer: ClickHouseWriter, cookies: set[str], scoring: Scoring) -> list[TouchRow]:
    """New versions of the stored touches of newly identified cookies: they count for the identified
    person now (earlier ones too)."""
    if not cookies:
        return []
    # every version of a cookie's anonymous touches, by cookie: the latest of each is the stored touch
    result = writer.client.query(
        f"SELECT {', '.join(TOUCH_COLUMNS)} FROM {writer.database}.anonymous_touches "
        "WHERE anonymous_id IN %(c)s ORDER BY version DESC LIMIT 1 BY event_id", parameters={"c": sorted(cookies)})
    return rescored([TouchRow(*r) for r in result.result_rows], scoring)


def restitch(writer: ClickHouseWriter, cookies: set[str], scoring: Scoring) -> int:
    return writer.replace(restitched(writer, cookies, scoring))


def accounts_scope(old: Sequence[AccountRecord], new: Sequence[AccountRecord]) -> tuple[str, dict]:
    """WHERE clause for the stored touches an accounts change can re-attribute (old and new values)."""
    ids = sorted({a.account_id for a in (*old, *new)})
    domains = sorted({d.lower() for a in (*old, *new) for d in a.domains})
    ranges = sorted({r for a in (*old, *new) for r in a.ip_ranges})
    email_domain = "splitByChar('@', person)[2]"
    clauses = [
        "account_id IN %(ids)s",
        "JSONExtractString(payload, 'account_id') IN %(ids)s",
        f"(method IN ('unresolved', 'ip', 'domain', 'stitched') AND "
        f"({email_domain} IN %(domains)s OR substring({email_domain}, position({email_domain}, '.') + 1) IN %(domains)s))",
    ]
    if ranges and len(ranges) <= MAX_SQL_RANGES:
        clauses.append("(method IN ('unresolved', 'ip') AND ip != '' "
                       "AND arrayExists(r -> isIPAddressInRange(ip, r), %(ranges)s))")
    elif ranges:
        clauses.append("(method IN ('unresolved', 'ip') AND ip != '')")
    return " OR ".join(clauses), {"ids": ids, "domains": domains or [""], "ranges": ranges}


def contacts_scope(contacts: Sequence[ContactRecord]) -> tuple[str, dict]:
    emails = sorted({c.email for c in contacts})
    return "email IN %(e)s OR person IN %(e)s", {"e": emails}


def reattribute(writer: ClickHouseWriter, where: str, params: dict, scoring: Scoring) -> int:
    """Re-score every stored touch matching `where`, in chunks so memory stays bounded."""
    chunks = max(1, writer.client.query(
        f"SELECT count() FROM {writer.database}.touches WHERE {where}", parameters=params
    ).result_rows[0][0] // CHUNK + 1)
    changed = 0
    for i in range(chunks):
        rows = writer.stored(f"({where}) AND modulo(cityHash64(event_id), {chunks}) = {i}", params)
        changed += apply(writer, rows, scoring)
    if changed:
        log.info("re-attributed %d stored touches", changed)
    return changed


def weights_fingerprint(weights: Weights) -> str:
    data = msgspec.json.encode({k: str(v) for k, v in vars(weights).items() if k != "roles"} |
                               {"roles": {k: str(v) for k, v in sorted(weights.roles.items())}})
    return hashlib.sha256(data).hexdigest()[:16]


def record_weights(writer: ClickHouseWriter, weights: Weights) -> bool:
    """Store the weights in force; True when they differ from the last ones stored (history needs re-scoring)."""
    db = writer.database
    stored = writer.client.query(
        f"SELECT argMax(value, updated_at) FROM {db}.scoring_settings WHERE key = 'weights'"
    ).result_rows
    previous = stored[0][0] if stored else ""
    current = weights_fingerprint(weights)
    now = datetime.now(timezone.utc)
    writer.client.insert(f"{db}.scoring_settings", [
        ["weights", current, now], ["page_view_daily_cap", str(weights.page_view_daily_cap), now],
    ], column_names=("key", "value", "updated_at"))
    return bool(previous) and previous != current
