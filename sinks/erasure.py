"""Erasure in ClickHouse: find a person's rows, delete them, log the request by hash (README, Erasure).

Aggregates are corrected by deleting, not by writing negative deltas: `engagement_daily` keeps the signed
deltas of every person under their own key (account, day, channel, program, person), so deleting the
person's keys takes out exactly what they added, and a worker that runs the same erasure twice (a
restart, a second worker of a shared store) deletes nothing more. Every DELETE is a synchronous mutation:
the rows are gone from disk when it returns, not only hidden.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Sequence

from clickhouse_connect.driver.client import Client

from sinks.reports import PERSON_REPORTS, refresh_reports

_CHUNK = 2_000  # ids per statement: an IN list of 2,000 UUIDs is ~80 KB of SQL, under max_query_size
_SYNC = {"mutations_sync": 2}
# stands for "nobody" in an IN list that would be empty: longer than any stored email, cookie or person
# ('' would match every touch without an email, or the IP-only touches' empty person)
_NOBODY = "!" * 300
# the touches a person owns now: the latest version of the touch names them (or carries their email, or
# their cookie without an email); older versions of the same touch go with it
_OWNED = """
SELECT event_id FROM {db}.touches
WHERE event_id IN (SELECT event_id FROM {db}.touches
                   WHERE person IN %(people)s OR email IN %(emails)s OR anonymous_id IN %(cookies)s)
GROUP BY event_id
HAVING argMax(person, version) IN %(people)s OR argMax(email, version) IN %(emails)s
    OR (argMax(anonymous_id, version) IN %(cookies)s AND argMax(email, version) = '')
"""
# each cookie's current person, for the cookies the request reaches
_LINKS = """
SELECT anonymous_id, argMax(email, identified_at) FROM {db}.identities
WHERE anonymous_id IN (SELECT anonymous_id FROM {db}.identities
                       WHERE email IN %(emails)s OR anonymous_id IN %(cookies)s)
GROUP BY anonymous_id
"""
_REJECTED_CANDIDATES = """
SELECT dlq_key, payload FROM {db}.rejected_events
WHERE multiSearchAnyCaseInsensitive(payload, %(needles)s)
"""
COUNTS = ("touches", "identity_links", "contacts", "lifecycle_changes", "rejected_events", "engagement_rows")
# the person's own rows that `count` and `erase` count by name in COUNTS: (name, table, where)
_COUNTED = (("identity_links", "identities", "email IN %(emails)s OR anonymous_id IN %(cookies)s"),
            ("contacts", "contacts", "email IN %(emails)s"),
            ("lifecycle_changes", "lifecycle_changes", "email IN %(emails)s"))
# tables that views keep per person from the ones above (where a migration made them)
_KEPT_PER_PERSON = {"funnel_people": "email IN %(emails)s",
                    "contact_keys": "person_key IN (SELECT reinterpretAsUInt128(sipHash128(arrayJoin(%(emails)s))))"}
# the stage tick's person-days (0038) and their last days apart (0045): raw sums per person, by person
PERSON_DAY_TABLES = ("person_days", "person_days_recent")
# tables that views keep a copy of touch versions in (event_id, person), where a migration made them: the owned
# touches' rows go by id, older versions naming the people by person, as in touches
_TOUCH_COPIES = ("sales_touch_latest", "page_view_latest")
# kept copies with no person column (program_successes: account, time, id, program; traffic_inputs: the rules'
# inputs by cookie, address or email; touch_ids: the writer's duplicate check): the owned touches' rows go by
# id; what older versions left there is the touch's current owner's
_TOUCH_COPIES_BY_ID = ("program_successes", "traffic_inputs", "touch_ids")
LOG_COLUMNS = ("identifier_hash", "kind", "request_id", "named", "requested_at", "erased_at", *COUNTS, "minutes",
               "rows_erased")
# A request is logged twice by each worker that takes it: with the counts found, before deleting, under this
# erased_at (the deletion under way); and again once the rows are gone. A second worker of a shared store
# can only find nothing after the first began deleting, so by then the first's counts are in the log.
UNDER_WAY = datetime(1970, 1, 1, tzinfo=timezone.utc)
# the answer to each request (its named identifier's row): the most any worker found, once a worker that
# found that much has deleted it; nothing yet while the largest count is still being deleted
ANSWERS = """
SELECT request_id, best.1, best.2, best.3, best.4, best.5, best.6, best.7, best.8 FROM (
    SELECT request_id, argMax((touches, identity_links, contacts, lifecycle_changes, rejected_events,
                               engagement_rows, minutes, rows_erased, erased_at), (rows_erased, erased_at)) AS best
    FROM {db}.erasure_log WHERE request_id IN %(ids)s AND named = 1 GROUP BY request_id)
WHERE best.9 > toDateTime64(0, 3, 'UTC')
"""


@dataclass
class Erased:
    """What one erasure deleted: rows per name in COUNTS, and the minutes taken out of the totals."""

    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(COUNTS, 0))
    minutes: Decimal = Decimal(0)

    @property
    def rows(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True)
class Logged:
    """How the log names one request: its id and time, the named identifier's hash, and every hash it
    reaches (hash -> kind), the named one included."""

    request_id: str
    requested_at: datetime
    named: str
    hashes: dict[str, str]


class ErasureStore:
    def __init__(self, client: Client, database: str):
        self.client = client
        self.db = database

    def linked(self, emails: set[str], cookies: set[str]) -> tuple[set[str], set[str]]:
        """The identity graph's closure: the cookies whose current person is one of the emails, and the
        current person of each cookie. A cookie since identified as someone else stays theirs."""
        emails, cookies = set(emails), set(cookies)
        for _ in range(8):  # a person's cookies and a cookie's person: two steps reach all; more is a guard
            rows = self._rows(_LINKS, emails, cookies)
            found_cookies = {c for c, e in rows if e in emails} | cookies
            found_emails = {e for c, e in rows if c in cookies and e} | emails
            if found_cookies == cookies and found_emails == emails:
                break
            emails, cookies = found_emails, found_cookies
        return emails, cookies

    def rejected_candidates(self, needles: Sequence[str]) -> list[tuple[str, str]]:
        """(dlq_key, payload) of dead letters whose raw input contains one of the strings (a coarse
        match: the caller keeps those that carry it as a whole token)."""
        out = []
        for start in range(0, len(needles), 200):  # multiSearch takes at most 255 needles
            out += self.client.query(_REJECTED_CANDIDATES.format(db=self.db),
                                     parameters={"needles": list(needles[start:start + 200])}).result_rows
        return out

    def count(self, emails: set[str], cookies: set[str], rejected_keys: Sequence[str]) -> Erased:
        """What `erase` would delete now, deleting nothing."""
        p = _people(emails, cookies)
        done = self._owned_and_minutes(p)[1]
        self._counted(done, p, rejected_keys, self._count)
        return done

    def erase(self, emails: set[str], cookies: set[str], rejected_keys: Sequence[str]) -> Erased:
        """Delete everything of these people (the closure `linked` gave); idempotent."""
        p = _people(emails, cookies)
        owned, done = self._owned_and_minutes(p)
        copies = [t for t in (*_TOUCH_COPIES, *_TOUCH_COPIES_BY_ID) if self._exists(t)]
        for start in range(0, len(owned), _CHUNK):
            ids = {"ids": owned[start:start + _CHUNK]}
            for table in ("account_touches", "anonymous_touches", *copies, "touches"):
                self._delete(table, "event_id IN %(ids)s", ids)
        self._forget_older_versions(p)
        changed, people_changed = self._account_days(p), self._people(p)
        self._delete("engagement_daily", "kind = 'touch' AND person IN %(people)s", p)
        for table in PERSON_DAY_TABLES:  # before the stamps below: the next tick reads them
            if self._exists(table):
                self._delete(table, "person IN %(people)s", p)
        self._mark_changed(changed, people_changed)
        self._counted(done, p, rejected_keys, self._delete)
        for table, where in _KEPT_PER_PERSON.items():  # deletions fire no view: its derived tables too
            if self._exists(table):
                self._delete(table, where, p)
        # every report computed again now rather than at the next scheduled refresh; two list people, so the
        # erasure is done once they are computed without these (the others hold only sums that counted them)
        refresh_reports(self.client, self.db, wait_for=PERSON_REPORTS)
        return done

    def _forget_older_versions(self, p: dict) -> None:
        """Touches now someone else's (a cookie identified again as another person) keep their current
        version; older versions that named these people go, and the current one forgets whom it replaced."""
        for table in ("touches", "anonymous_touches"):
            self._delete(table, "person IN %(people)s", p)
            if self._count(table, "prev_person IN %(people)s", p):
                self.client.command(f"ALTER TABLE {self.db}.{table} UPDATE prev_person = '' "
                                    f"WHERE prev_person IN %(people)s", parameters=p, settings=_SYNC)
        self._delete("account_touches", "person IN %(people)s", p)
        for table in _TOUCH_COPIES:
            if self._exists(table):
                self._delete(table, "person IN %(people)s", p)

    def _account_days(self, p: dict) -> list[tuple]:
        return self.client.query(f"SELECT DISTINCT account_id, day FROM {self.db}.engagement_daily "
                                 f"WHERE kind = 'touch' AND person IN %(people)s AND account_id != ''",
                                 parameters=p).result_rows

    def _people(self, p: dict) -> list[tuple[str, str, date]]:
        """(account, person_key as text, day) of these people in the stage tick's kept person-days."""
        if not self._exists("person_days"):
            return []
        return self.client.query(f"SELECT DISTINCT account_id, toString(person_key), day FROM {self.db}.person_days "
                                 f"WHERE person IN %(people)s", parameters=p).result_rows

    def _mark_changed(self, account_days: list[tuple], people: list[tuple[str, str, date]]) -> None:
        """A deletion fires no materialized view: where the stage evaluator keeps its own rollups of
        engagement_daily (engagement_changes, person_day_changes), name the person's accounts, days and
        hashed keys to it, as an insert would, once their rows are gone (a fold before then would still
        count them)."""
        now = datetime.now(timezone.utc)
        if account_days and self._exists("engagement_changes"):
            self.client.insert(f"{self.db}.engagement_changes", [["account", a, d, now] for a, d in account_days],
                               column_names=("scope", "account_id", "day", "changed_at"))
        if people:
            self.client.command(
                f"INSERT INTO {self.db}.person_day_changes SELECT now64(3, 'UTC'), p.1, toUInt128(p.2), p.3 "
                f"FROM (SELECT arrayJoin(arrayZip(%(accounts)s, %(keys)s, %(days)s)) AS p)",
                parameters={"accounts": [a for a, _, _ in people], "keys": [k for _, k, _ in people],
                            "days": [d for _, _, d in people]})

    def log(self, rows: Sequence[tuple[str, str, str, int, datetime, Erased]], under_way: bool = False) -> None:
        """(identifier_hash, kind, request_id, named, requested_at, counts) per identifier; `under_way`: before
        the deletion (UNDER_WAY)."""
        now = UNDER_WAY if under_way else datetime.now(timezone.utc)
        data = [[h, kind, rid, named, at, now, *(e.counts[n] for n in COUNTS), e.minutes, e.rows]
                for h, kind, rid, named, at, e in rows]
        self.client.insert(f"{self.db}.erasure_log", data, column_names=LOG_COLUMNS)

    def announce(self, request: Logged, emails: set[str], cookies: set[str], rejected_keys: Sequence[str]) -> list:
        """Count what `erase` is to delete and log it as under way: the rows for `log` once it is deleted.
        Where this request logged more already (a run before a crash, a peer), that stays the answer."""
        found = self.count(emails, cookies, rejected_keys)
        best = self.client.query(f"SELECT argMax(({', '.join(COUNTS)}, minutes), rows_erased) FROM {self.db}."
                                 f"erasure_log WHERE request_id = %(r)s AND identifier_hash = %(h)s",
                                 parameters={"r": request.request_id, "h": request.named}).result_rows
        if best and sum(best[0][0][:-1]) > found.rows:
            found = Erased(dict(zip(COUNTS, best[0][0][:-1])), Decimal(best[0][0][-1]))
        rows = [(h, kind, request.request_id, int(h == request.named), request.requested_at,
                 found if h == request.named else Erased()) for h, kind in request.hashes.items()]
        self.log(rows, under_way=True)
        return rows

    def erased_hashes(self) -> set[str]:
        rows = self.client.query(f"SELECT DISTINCT identifier_hash FROM {self.db}.erasure_log").result_rows
        return {r[0] for r in rows}

    def record_drops(self, drops: dict[tuple[str, str], int]) -> None:
        today = datetime.now(timezone.utc).date()
        self.client.insert(f"{self.db}.erasure_drops", [[today, h, source, n] for (h, source), n in drops.items()],
                           column_names=("day", "identifier_hash", "source", "events"))

    # -- internals -----------------------------------------------------------------------------
    def _rows(self, query: str, emails: set[str], cookies: set[str]) -> list[tuple]:
        return self.client.query(query.format(db=self.db), parameters=_people(emails, cookies)).result_rows

    def _counted(self, done: Erased, p: dict, rejected_keys: Sequence[str], act) -> None:
        """`act` (`_count` or `_delete`) on each of _COUNTED and on the dead letters, into done's counts."""
        for name, table, where in _COUNTED:
            done.counts[name] = act(table, where, p)
        for start in range(0, len(rejected_keys), _CHUNK):
            keys = {"keys": list(rejected_keys[start:start + _CHUNK])}
            done.counts["rejected_events"] += act("rejected_events", "dlq_key IN %(keys)s", keys)

    def _owned_and_minutes(self, p: dict) -> tuple[list, Erased]:
        """The touches these people own now, and what they hold in engagement_daily."""
        owned = [r[0] for r in self.client.query(_OWNED.format(db=self.db), parameters=p).result_rows]
        done = Erased()
        done.counts["touches"] = len(owned)
        minutes, done.counts["engagement_rows"] = self.client.query(
            f"SELECT sum(minutes), count() FROM {self.db}.engagement_daily WHERE kind = 'touch' "
            f"AND person IN %(people)s", parameters=p).result_rows[0]
        done.minutes = Decimal(minutes or 0)
        return owned, done

    def _exists(self, table: str) -> bool:
        return bool(self.client.query("SELECT count() FROM system.tables WHERE database = %(db)s AND name = %(t)s",
                                      parameters={"db": self.db, "t": table}).result_rows[0][0])

    def _count(self, table: str, where: str, parameters: dict) -> int:
        return self.client.query(f"SELECT count() FROM {self.db}.{table} WHERE {where}",
                                 parameters=parameters).result_rows[0][0]

    def _delete(self, table: str, where: str, parameters: dict) -> int:
        """A synchronous mutation, skipped when nothing matches (a mutation rewrites every part it touches);
        the rows it deleted."""
        n = self._count(table, where, parameters)
        if n:
            self.client.command(f"ALTER TABLE {self.db}.{table} DELETE WHERE {where}", parameters=parameters,
                                settings=_SYNC)
        return n


def _people(emails: set[str], cookies: set[str]) -> dict:
    return {"people": sorted(emails | cookies) or [_NOBODY], "emails": sorted(emails) or [_NOBODY],
            "cookies": sorted(cookies) or [_NOBODY]}
