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
from schemas.rows import TouchRow
from sinks.store import Store
from sinks.writer import ClickHouseWriter
from streams.core.score import Identities, Scoring, rescore
from streams.core.traffic import TrafficRules
from streams.core.weights import Weights

log = logging.getLogger("pulse.attribution")
CHUNK = 50_000
# Beyond this many changed IP ranges, matching in SQL costs more than re-scoring every IP-resolved touch.
MAX_SQL_RANGES = 2_000
# The person's email domain or any parent of it is one of %(domains)s: the registry resolves
# mail.eu.acme.com through eu.acme.com and acme.com (streams/core/registry.py, account_for_domain).
_EMAIL_DOMAIN = "splitByChar('.', splitByChar('@', person)[2])"
_DOMAIN_CLAUSE = (f"(method IN ('unresolved', 'ip', 'domain', 'stitched') AND arrayExists("
                  f"i -> arrayStringConcat(arraySlice({_EMAIL_DOMAIN}, i), '.') IN %(domains)s, "
                  f"arrayEnumerate({_EMAIL_DOMAIN})))")


def load_identities(store: Store) -> Identities:
    identities = Identities()
    identities.learn_links(store.identity_links())
    return identities


def store_identities(store: Store, events: Iterable[Touch]) -> None:
    rows = [[e.anonymous_id, e.email, e.occurred_at] for e in events if isinstance(e, Identify)]
    if rows:
        store.store_identity_links(rows)


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
    return rescored(writer.store.anonymous_touches(sorted(cookies)), scoring)


def restitch(writer: ClickHouseWriter, cookies: set[str], scoring: Scoring) -> int:
    return writer.replace(restitched(writer, cookies, scoring))


def accounts_scope(old: Sequence[AccountRecord], new: Sequence[AccountRecord]) -> tuple[str, dict]:
    """WHERE clause for the stored touches an accounts change can re-attribute: only what resolves
    differently now can change, so only the domains and IP ranges added or removed somewhere, the
    accounts that lost one (their touches may fall to another or to none), and the payloads naming an
    account registered now (a touch naming a registered account is already stored under it)."""
    before = {a.account_id: a for a in old}
    lost, domains, ranges = set(), set(), set()
    for account in new:
        was = before.get(account.account_id, AccountRecord(account_id=account.account_id))
        old_domains, new_domains = {d.lower() for d in was.domains}, {d.lower() for d in account.domains}
        old_ranges, new_ranges = set(was.ip_ranges), set(account.ip_ranges)
        domains |= old_domains ^ new_domains
        ranges |= old_ranges ^ new_ranges
        if old_domains - new_domains or old_ranges - new_ranges:
            lost.add(account.account_id)
    added = sorted({a.account_id for a in new} - set(before))
    clauses = [*(["account_id IN %(lost)s"] if lost else []),
               *(["JSONExtractString(payload, 'account_id') IN %(added)s"] if added else []),
               *([_DOMAIN_CLAUSE] if domains else [])]
    if ranges and len(ranges) <= MAX_SQL_RANGES:
        clauses.append("(method IN ('unresolved', 'ip') AND ip != '' "
                       "AND arrayExists(r -> isIPAddressInRange(ip, r), %(ranges)s))")
    elif ranges:
        clauses.append("(method IN ('unresolved', 'ip') AND ip != '')")
    return " OR ".join(clauses) or "0", {"lost": sorted(lost), "added": added, "domains": sorted(domains) or [""],
                                         "ranges": sorted(ranges)}


def contacts_scope(contacts: Sequence[ContactRecord]) -> tuple[str, dict]:
    emails = sorted({c.email for c in contacts})
    return "email IN %(e)s OR person IN %(e)s", {"e": emails}


def reattribute(writer: ClickHouseWriter, where: str, params: dict, scoring: Scoring) -> int:
    """Re-score every stored touch matching `where`, a month of `touches` (its partition) at a time and
    a month with more than CHUNK matches in slices of it, so memory stays bounded and history is read
    about twice (counting, then re-reading), not once per chunk."""
    changed = 0
    for month, count in writer.store.touch_months(where, params):
        slices = count // CHUNK + 1
        for i in range(slices):
            rows = writer.stored(f"({where}) AND modulo(cityHash64(event_id), {slices}) = {i}", params, month)
            changed += apply(writer, rows, scoring)
    if changed:
        log.info("re-attributed %d stored touches", changed)
    return changed


def weights_fingerprint(weights: Weights, traffic: str = "") -> str:
    """The weights and `traffic`, the traffic rules' own fingerprint (a new list or setting re-scores too)."""
    data = msgspec.json.encode({k: str(v) for k, v in vars(weights).items() if k not in ("roles", "traffic")} |
                               {"roles": {k: str(v) for k, v in sorted(weights.roles.items())},
                                "traffic": {k: str(v) for k, v in sorted(weights.traffic.items())},
                                "traffic_rules": traffic})
    return hashlib.sha256(data).hexdigest()[:16]


def record_weights(store: Store, weights: Weights, traffic: TrafficRules | None = None) -> bool:
    """Store the weights and traffic rules in force; True when they differ from the last ones stored
    (history needs re-scoring)."""
    current = weights_fingerprint(weights, traffic.fingerprint() if traffic else "")
    values = {"weights": current, "page_view_daily_cap": str(weights.page_view_daily_cap),
              "form_submit_daily_cap": str(weights.form_submit_daily_cap),
              "form_submit": str(weights.form_submit)}  # the views' form cap needs both
    stored = {key: store.scoring_setting(key) for key in values}
    # Written only when something differs: every write re-folds every account-day and rebuilds the stage
    # state (0030_rollups.sql), over 20 minutes at 100M touches, which a plain restart must not cost.
    if stored != values:
        store.store_scoring_settings(values, datetime.now(timezone.utc))
    return bool(stored["weights"]) and stored["weights"] != current
