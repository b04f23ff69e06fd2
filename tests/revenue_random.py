"""Random opportunity histories for the fast-path tests of the revenue and influence views: snapshots as the
worker stores them, shuffled over several inserts with a fifth of them twice, and the state computed the
straightforward way (the latest snapshot of each opportunity by occurred_at, then event_id as text)."""
from __future__ import annotations

import random
import uuid
from datetime import date, datetime, time, timedelta, timezone
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal

COLUMNS = ("event_id", "opportunity_id", "account_id", "occurred_at", "received_at", "stage", "is_closed", "is_won",
           "amount", "currency", "created_at", "close_date", "name", "owner", "source", "type", "program_id",
           "probability", "payload", "writer")
NOW = datetime.now(timezone.utc).replace(microsecond=0)  # as stored: to the millisecond
TODAY = NOW.date()


def boundary_days() -> list[date]:
    """Every period's first day and the day before it, today, tomorrow, and days far back."""
    firsts = [TODAY.replace(day=1), date(TODAY.year, 3 * ((TODAY.month - 1) // 3) + 1, 1), TODAY.replace(month=1, day=1),
              TODAY - timedelta(days=89), TODAY - timedelta(days=364)]
    return [d + timedelta(days=k) for d in firsts for k in (-1, 0)] + [TODAY, TODAY + timedelta(days=1),
                                                                   TODAY - timedelta(days=700)]


def snapshot_row(rng: random.Random, opportunity: str, at: datetime) -> list:
    days = boundary_days()
    created = rng.choice(days + [TODAY - timedelta(days=rng.randint(0, 800))])
    fate = rng.choice(["open", "open", "won", "won", "lost"])
    close = rng.choice(days + [created + timedelta(days=rng.randint(-3, 200))])
    return [uuid.UUID(int=rng.getrandbits(128)), opportunity, rng.choice(["t-1", "t-2", "n-1", "n-2", "ghost", "late"]),
            at, at, {"open": rng.choice(["Prospecting", "Proposal"]), "won": "Closed Won", "lost": "Closed Lost"}[fate],
            int(fate != "open"), int(fate == "won"), Decimal(rng.randint(0, 10**7)) / 100, "USD",
            datetime.combine(created, time(rng.choice([0, 12, 23]), rng.choice([0, 59])), timezone.utc), close,
            f"deal {opportunity}", "", rng.choice(["marketing", "sales"]),
            rng.choice(["new_business", "new_business", "renewal", "expansion"]), "",
            None if fate != "open" else rng.choice([None, 0, 35, 100]), "{}", "w"]


def history(rng: random.Random, opportunities: int, snapshots: int) -> list[list]:
    """Each opportunity's snapshots at distinct or equal instants (ties go by event_id)."""
    return [snapshot_row(rng, f"o-{n}", NOW - timedelta(hours=rng.randint(1, 2000), milliseconds=rng.choice([0, 1])))
            for n in range(opportunities) for _ in range(rng.randint(1, snapshots))]


def insert_shuffled(client, db: str, rng: random.Random, rows: list[list]) -> None:
    rows = rows + [list(r) for r in rng.sample(rows, len(rows) // 5)]
    rng.shuffle(rows)
    for start in range(0, len(rows), 41):
        client.insert(f"{db}.opportunity_snapshots", rows[start:start + 41], column_names=COLUMNS)


def latest(rows: list[list]) -> list[dict]:
    """The state: each opportunity's snapshot with the largest (occurred_at, event_id as text)."""
    state: dict[str, list] = {}
    for r in rows:
        if r[1] not in state or (r[3], str(r[0])) > (state[r[1]][3], str(state[r[1]][0])):
            state[r[1]] = r
    return [dict(zip(COLUMNS, r)) for r in state.values()]


def ratio(a, b, places: str) -> Decimal:
    """As the views divide: to 8 decimals toward zero, then half away from zero."""
    exact = (Decimal(a) / Decimal(b)).quantize(Decimal("1e-8"), ROUND_DOWN)
    return exact.quantize(Decimal(places), ROUND_HALF_UP)


def register(client, db: str, *accounts: tuple[str, int]) -> None:
    values = ", ".join(f"('{a}', 'name {a}', {t}, now64(3))" for a, t in accounts)
    client.command(f"INSERT INTO {db}.accounts (account_id, name, is_target, updated_at) VALUES {values}")
