"""`pulse forget` end to end: a worker, the real broker and chDB. The person's rows go, every account's
totals become what they are without that person, others are untouched, a replay from the earliest offset
does not bring them back, forgetting twice or forgetting nobody is said so, and hostile input is refused."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, timedelta, timezone

from conftest import ROOT, env_for, sql_rows, wait_until
from schemas import topics
from schemas.registry import AccountRecord, ContactRecord
from streams.producer import producer, publish_accounts, publish_contacts

DONE = "AND erased_at > toDateTime64(0, 3, 'UTC')"  # the log's row once the rows are gone, not the one before
ANA, BOB, CAROL, COOKIE = "ana@acme.example", "bob@acme.example", "carol@globex.example", "c-ana-0001"
TOTALS = ("SELECT account_id, sum(m), sum(t) FROM (SELECT account_id, person, sum(minutes) AS m, sum(touches) AS t "
          "FROM engagement_daily WHERE kind = 'touch' {where} GROUP BY account_id, person) "
          "WHERE m != 0 OR t != 0 GROUP BY account_id ORDER BY account_id")


def pulse(settings, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pulse.cli", *args], env=env_for(settings), cwd=ROOT,
                          capture_output=True, text=True, timeout=300)


def events() -> list[dict]:
    at = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat()
    page = {"type": "page_view", "occurred_at": at, "url": "https://us.example/pricing"}
    return [
        {**page, "email": ANA}, {**page, "email": ANA, "url": "https://us.example/a"},
        {"type": "email_open", "occurred_at": at, "email": ANA, "campaign_id": "nov"},
        {"type": "identify", "occurred_at": at, "anonymous_id": COOKIE, "email": ANA},
        {**page, "anonymous_id": COOKIE, "url": "https://us.example/b"},
        {"type": "lifecycle_change", "occurred_at": at, "email": ANA, "stage": "mql"},
        {**page, "email": BOB}, {"type": "email_open", "occurred_at": at, "email": BOB, "campaign_id": "nov"},
        {**page, "email": CAROL}, {**page, "anonymous_id": "c-someone-else", "url": "https://us.example/c"},
    ]


def engaged(settings, account_id: str) -> int:
    rows = sql_rows(settings, "SELECT people_engaged_90d FROM account_engagement WHERE account_id = %(a)s",
                    {"a": account_id})
    return rows[0][0] if rows else -1


def count(settings, query: str, parameters: dict | None = None) -> int:
    return sql_rows(settings, query, parameters)[0][0]


def test_forget_erases_exactly_and_a_replay_does_not_bring_them_back(settings, start):
    worker = start("worker", settings)
    p = producer(settings)
    publish_accounts(p, settings, [AccountRecord(account_id="acme", domains=("acme.example",)),
                                   AccountRecord(account_id="globex", domains=("globex.example",))])
    publish_contacts(p, settings, [ContactRecord(email=ANA, account_id="acme", role="vp"),
                                   ContactRecord(email=BOB, account_id="acme", role="manager")])
    wait_until(lambda: count(settings, "SELECT count() FROM contacts FINAL") == 2, 60, what="the registry")
    sent = events()
    p.send(settings.topic(topics.TOUCHES), json.dumps(sent).encode())
    bad = {"type": "page_view", "occurred_at": "not a time", "url": "https://us.example/", "email": ANA}
    p.send(settings.topic(topics.TOUCHES), json.dumps([bad]).encode())
    p.flush()
    wait_until(lambda: count(settings, "SELECT count() FROM events") == len(sent) - 1
               and count(settings, "SELECT count() FROM lifecycle_changes") == 1
               and count(settings, "SELECT count() FROM rejected_events") == 1, 60, what="the events stored")
    assert sql_rows(settings, "SELECT person, type FROM events WHERE anonymous_id = %(c)s ORDER BY type",
                    {"c": COOKIE}) == [(ANA, "identify"), (ANA, "page_view")]  # the cookie's visit is ana's
    wait_until(lambda: engaged(settings, "acme") == 2, 60, what="ana and bob engaged at acme")
    without = sql_rows(settings, TOTALS.format(where="AND person NOT IN %(p)s"), {"p": [ANA, COOKIE]})
    others = sql_rows(settings, "SELECT event_id, person, minutes FROM events WHERE person NOT IN %(p)s "
                                "ORDER BY event_id", {"p": [ANA, COOKIE]})
    assert sql_rows(settings, TOTALS.format(where="")) != without  # ana had minutes to take out

    done = pulse(settings, "forget", "--email", " ANA@acme.example ")
    assert done.returncode == 0, done.stderr
    assert "erased 5 touches" in done.stdout and "1 identity links" in done.stdout, done.stdout
    assert "1 contact records, 1 lifecycle changes, 1 dead letters" in done.stdout, done.stdout
    assert ANA not in done.stdout and "ana" not in done.stdout
    assert_erased(settings, without, others)
    wait_until(lambda: engaged(settings, "acme") == 1, 60, what="the stage evaluation to count bob alone")
    log = sql_rows(settings, "SELECT identifier_hash, kind, named FROM erasure_log FINAL ORDER BY named")
    assert [(k, n) for _, k, n in log] == [("anonymous_id", 0), ("email", 1)]  # the cookie went with her
    assert all(len(h) == 64 and "@" not in h for h, _, _ in log)

    # every message of the touches topic again: ana's events are dropped (and counted), the rest are duplicates
    replayed = pulse(settings, "replay", "--from", "earliest")
    assert replayed.returncode == 0, replayed.stderr
    wait_until(lambda: count(settings, "SELECT sum(events) FROM erasure_drops WHERE source = 'touches'") == 7, 60,
               what="the replayed events of ana dropped")
    assert_erased(settings, without, others)

    again = pulse(settings, "forget", "--email", ANA)
    assert again.returncode == 0 and "already erased on" in again.stdout, again.stdout + again.stderr
    nobody = pulse(settings, "forget", "--anonymous-id", "never-seen-cookie")
    assert nobody.returncode == 0 and "unknown: nothing stored" in nobody.stdout, nobody.stdout + nobody.stderr
    # SQL that is a well-formed address is only an address: parameters, never spliced into a statement
    sql = pulse(settings, "forget", "--email", "x');DROP_TABLE_touches;--@acme.example")
    assert sql.returncode == 0 and "unknown: nothing stored" in sql.stdout, sql.stdout + sql.stderr
    assert_erased(settings, without, others)

    # a restarted worker knows them from erasure_log: the registry topic it re-reads (ana's contact record)
    # and another replay are dropped too
    worker.stop()
    start("worker", settings)
    assert pulse(settings, "replay", "--from", "earliest").returncode == 0
    wait_until(lambda: count(settings, "SELECT sum(events) FROM erasure_drops WHERE source = 'touches'") == 14
               and count(settings, "SELECT sum(events) FROM erasure_drops WHERE source = 'registry'") == 1, 90,
               what="the second replay and the registry's contact record of ana dropped")
    assert_erased(settings, without, others)


def assert_erased(settings, without: list, others: list) -> None:
    assert sql_rows(settings, TOTALS.format(where="")) == without
    assert sql_rows(settings, "SELECT event_id, person, minutes FROM events WHERE person NOT IN %(p)s "
                              "ORDER BY event_id", {"p": [ANA, COOKIE]}) == others
    for query in ("SELECT count() FROM touches WHERE email = %(a)s OR anonymous_id = %(c)s OR person IN (%(a)s, %(c)s)",
                  "SELECT count() FROM identities WHERE email = %(a)s OR anonymous_id = %(c)s",
                  "SELECT count() FROM contacts WHERE email = %(a)s",
                  "SELECT count() FROM lifecycle_changes WHERE email = %(a)s",
                  "SELECT count() FROM rejected_events WHERE positionCaseInsensitive(payload, %(a)s) > 0",
                  "SELECT count() FROM engagement_daily WHERE person IN (%(a)s, %(c)s)"):
        assert count(settings, query, {"a": ANA, "c": COOKIE}) == 0, query
    assert count(settings, "SELECT count() FROM contacts FINAL WHERE email = %(b)s", {"b": BOB}) == 1


def test_hostile_identifiers_are_refused_and_nothing_is_sent(settings):
    cases = {"": "empty email", "x' OR 1=1 --@acme.example": "not an email address",
             "a" * 10_000 + "@acme.example": "10,013 characters", "a@b\x01.example": "control characters"}
    for value, reason in cases.items():
        refused = pulse(settings, "forget", "--email", value, "--email", BOB, "--timeout", "0")
        assert refused.returncode == 2 and reason in refused.stderr and "nothing sent" in refused.stderr, refused.stderr
        assert len(refused.stderr) < 400  # a 10 KB input is not echoed back whole
    nothing = pulse(settings, "forget")
    assert nothing.returncode == 2 and "name someone" in nothing.stderr


def test_a_request_sent_while_no_worker_runs_is_done_when_one_starts(settings, start):
    waiting = pulse(settings, "forget", "--email", ANA, "--timeout", "2")
    assert waiting.returncode == 1, waiting.stdout + waiting.stderr
    assert "not confirmed within 2 s" in waiting.stderr and "wait on the erasure topic" in waiting.stderr
    start("worker", settings)
    logged = f"SELECT count() FROM erasure_log WHERE named = 1 AND kind = 'email' {DONE}"
    wait_until(lambda: count(settings, logged) == 1, 60, what="the waiting request done by the worker")
