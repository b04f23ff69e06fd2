"""The kept funnel state (0025_funnel_people.sql) against the straightforward computation, on the real engine.

person_funnel reads one merged row per person of funnel_people; before it, it sorted every person's changes
read with FINAL (REFERENCE below, that SQL as it was). Random histories (skips, moves back, `other`, ties on
occurred_at, owners and accounts named now and then) arrive in shuffled chunks, some changes stored twice (two
writers racing on one id), and both computations must agree row for row, before and after merges; then a
state that missed changes (a SIGKILL between the two inserts) is made whole by the writer's start-up repair."""
from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta, timezone

from schemas.rows import LIFECYCLE_COLUMNS
from sinks.funnel_state_sql import REPAIR_FUNNEL_PEOPLE
from sinks.migrate import _lifecycle_order

NOW = datetime.now(timezone.utc).replace(microsecond=0)
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other")

# person_funnel as it was (every change with FINAL, sorted per person): the reference the state must match.
REFERENCE = """
SELECT email AS person, source, given_account, top, entered,
       arrayMap(t -> toDate(t, '{tz}'), entered) AS entered_on,
       arrayMap(p -> toUInt8(NOT arrayExists(c -> c.1 = p AND c.2 = entered[p], cs)), range(1, top + 1)) AS skipped,
       arrayMap(p -> arrayLast(c -> c.2 <= entered[p] AND c.4 != '', cs).4, range(1, top + 1)) AS owners
FROM
(
    SELECT email, source, given_account, top, cs,
           arrayMap(p -> arrayMin(arrayMap(c -> c.2, arrayFilter(c -> c.1 >= p, cs))), range(1, top + 1)) AS entered
    FROM
    (
        WITH {order} AS stages
        SELECT email, max(indexOf(stages, stage)) AS top,
               argMin(source, (occurred_at, toString(event_id))) AS source,
               argMaxIf(account_id, (occurred_at, toString(event_id)), account_id != '') AS given_account,
               arraySort(c -> (c.2, c.3), groupArray((indexOf(stages, stage), occurred_at, toString(event_id),
                                                      owner))) AS cs
        FROM {db}.lifecycle_changes FINAL
        GROUP BY email
    )
    WHERE top > 0
)
ORDER BY person
"""
# person_stages and the SLA's MQLs as they were, against the views that read the state now.
REFERENCE_STAGES = """
WITH {order} AS stages
SELECT email, position, stages[position] AS stage, entered_at, toDate(entered_at, '{tz}') AS entered_on
FROM
(
    SELECT email, position, min(occurred_at) AS entered_at
    FROM (SELECT email, occurred_at, indexOf(stages, stage) AS rank FROM {db}.lifecycle_changes FINAL WHERE rank > 0)
    ARRAY JOIN arrayEnumerate(stages) AS position
    WHERE rank >= position
    GROUP BY email, position
)
ORDER BY email, position
"""
REFERENCE_MQL = """
WITH {order} AS stages, indexOf(stages, 'mql') AS mql_rank
SELECT email, minIf(occurred_at, indexOf(stages, stage) >= mql_rank) AS mql_at,
       argMaxIf(account_id, (occurred_at, toString(event_id)), account_id != '') AS given,
       arrayFilter(c -> c.1 <= mql_at,
                   arraySort(groupArrayIf((occurred_at, toString(event_id), owner), owner != ''))) AS before,
       if(empty(before), '', before[-1].3) AS owner_at_mql
FROM {db}.lifecycle_changes FINAL
WHERE mql_rank > 0
GROUP BY email
HAVING countIf(indexOf(stages, stage) >= mql_rank) > 0
ORDER BY email
"""
FAST = {"funnel": "SELECT * FROM {db}.person_funnel ORDER BY person",
        "stages": "SELECT * FROM {db}.person_stages ORDER BY email, position",
        "mql": "SELECT email, mql_at, given, owner_at_mql FROM {db}.person_mql ORDER BY email"}


def histories(rng: random.Random, people: int) -> list[list]:
    """Rows as the writer stores them (LIFECYCLE_COLUMNS + writer), one list per person, in history order."""
    out = []
    for i in range(people):
        at, rows = NOW - timedelta(days=rng.randint(1, 400)), []
        for _ in range(rng.randint(1, 7)):
            at += timedelta(hours=rng.choice([0, 0, 1, 30, 200]))  # 0: a tie on occurred_at
            rows.append([uuid.uuid4(), f"p{i}@x.com", rng.choice(["", "", f"acct{i % 5}"]), rng.choice(STAGES), at,
                         NOW, rng.choice(["", "", "rita", "sam"]), "", rng.choice(["", "marketing", "sales"]), "{}"])
        out.append(rows)
    return out


def insert(client, db: str, rows: list[list], writer: str = "w1") -> None:
    client.insert(f"{db}.lifecycle_changes", [r + [writer] for r in rows],
                  column_names=list(LIFECYCLE_COLUMNS) + ["writer"])


def both(client, settings) -> tuple[dict, dict]:
    """(the straightforward computation, the views on the kept state), each as {view: rows}."""
    values = {"db": settings.database, "order": _lifecycle_order(settings), "tz": settings.reporting_tz}
    reference = {"funnel": REFERENCE, "stages": REFERENCE_STAGES, "mql": REFERENCE_MQL}
    rows = lambda sql: client.query(sql.format(**values)).result_rows  # noqa: E731
    reference = {name: rows(sql) for name, sql in reference.items()}
    reference["mql"] = [r[:3] + r[4:] for r in reference["mql"]]  # without the owners before mql
    return reference, {name: rows(sql) for name, sql in FAST.items()}


def test_kept_state_matches_the_straightforward_funnel_under_any_arrival(engine):
    client, settings = engine
    rng = random.Random(16)
    rows = [row for person in histories(rng, 120) for row in person]
    late = rng.sample(rows, len(rows) // 4)  # arrive last, whatever their occurred_at
    first = [r for r in rows if not any(r is x for x in late)]
    rng.shuffle(first)
    for start in range(0, len(first), 37):
        insert(client, settings.database, first[start:start + 37])
    insert(client, settings.database, late)
    insert(client, settings.database, rng.sample(rows, 40), writer="w2")  # the same ids stored twice
    reference, fast = both(client, settings)
    assert len(reference["funnel"]) > 80 and len(reference["mql"]) > 30 and fast == reference
    client.command(f"OPTIMIZE TABLE {settings.database}.funnel_people FINAL")
    client.command(f"OPTIMIZE TABLE {settings.database}.lifecycle_changes FINAL")
    assert both(client, settings)[1] == reference


def test_the_start_up_repair_restores_changes_the_state_missed(engine):
    client, settings = engine
    db = settings.database
    rng = random.Random(17)
    people = histories(rng, 30)
    insert(client, db, [row for person in people[:20] for row in person], writer="w-old")
    insert(client, db, [row for person in people[20:] for row in person], writer="w-killed")
    want = both(client, settings)[0]
    # the killed writer's chunk reached lifecycle_changes but not the state (as a SIGKILL between the inserts)
    client.command(f"ALTER TABLE {db}.funnel_people DELETE WHERE email IN "
                   f"(SELECT email FROM {db}.lifecycle_changes WHERE writer = 'w-killed') SETTINGS mutations_sync = 2")
    assert both(client, settings)[1] != want
    client.command(REPAIR_FUNNEL_PEOPLE.format(db=db), parameters={"writer": "w-killed"})
    assert both(client, settings)[1] == want
    client.command(REPAIR_FUNNEL_PEOPLE.format(db=db), parameters={"writer": "w-killed"})  # twice: no change
    assert both(client, settings)[1] == want
