"""Stays live as history grows (issue 17): stage evaluation and the per-account dashboard queries,
before and after the incremental rollups, on one generated store grown from size to size.

The store is generated in SQL inside the engine as for the `queries` section (pulse/bench/queries.py,
in a database of its own): touches over a year, Zipf-like account activity, and their engagement rows
folded as the writer folds them. At each size it times
- the full stage evaluation every tick ran before (stages.refresh: every account re-decided from all
  of its person-days), and the first incremental tick, which folds everything (it sets the mark);
- an incremental tick after `fresh` new touches spread over the year like the store's (the worst case:
  every month's person-days looked up), one after `fresh` live touches (today's, LATE_PCT of them late:
  what the hooks offer, and the target's), each recomputing the changed person-days, moving their people
  by the differences (recomputing whole those whose confirmation may move) and re-deciding their accounts
  (stages.evaluate), and the tick at the next day boundary (also the people and accounts whose windows lost
  a day), each in wall and CPU time with how many accounts and people it took;
- ACCOUNT_DAILY, FRESHNESS and ACCOUNT_TRENDS for the most active account (p50/p95 on a read-only
  session): the statements before issue 17 (below) and ui/queries.py's now.
"""
from __future__ import annotations

import statistics
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

from schemas.settings import Settings
from sinks.stage_marks import LATEST_MARK

DB = "rollups"

# The dashboard statements before issue 17, for the `before` column.
BEFORE = {
    "ACCOUNT_DAILY": """
SELECT day, channel, toFloat64(sum(minutes)) AS minutes, sum(touches) AS touches
FROM engagement_person_daily
WHERE account_id = %(account)s AND day > today() - 90
GROUP BY day, channel
HAVING touches != 0
ORDER BY day
""",
    "FRESHNESS": """
SELECT max(received_at) AS latest
FROM touches
WHERE occurred_at >= toStartOfMonth(now() - INTERVAL 1 MONTH)
""",
    "ACCOUNT_TRENDS": """
SELECT account_id, day, toFloat64(sum(minutes)) AS minutes
FROM engagement_person_daily
WHERE account_id IN %(accounts)s AND day > today() - 30
GROUP BY account_id, day
""",
}


def _timed(fn, *args, **kwargs) -> float:
    started = time.perf_counter()
    fn(*args, **kwargs)
    return time.perf_counter() - started


def _pct(values: list[float], p: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[p - 1] if len(values) > 1 else values[0]


def _queries(reader, account: str, repeats: int) -> dict:
    from ui import queries

    params = {"ACCOUNT_DAILY": {"account": account}, "FRESHNESS": {}, "ACCOUNT_TRENDS": {"accounts": [account]}}
    out = {}
    for name, bound in params.items():
        for when, sql in (("before", BEFORE[name]), ("after", getattr(queries, name))):
            ms = [_timed(reader.query, sql, parameters=bound) * 1000 for _ in range(repeats)]
            out[f"{name}_{when}_p50_ms"], out[f"{name}_{when}_p95_ms"] = _pct(ms, 50), _pct(ms, 95)
    return out


def _ticks(client, size: int, fresh: int) -> dict:
    from pulse.bench.queries import generate
    from sinks.store import Store
    from streams import stages

    store, now = Store(client, DB), datetime.now(timezone.utc)
    out = {"full_evaluation_s": _timed(stages.refresh, store, now)}
    client.command(f"TRUNCATE TABLE {DB}.stage_marks")  # the first tick folds everything again
    out["first_tick_s"] = _timed(stages.evaluate, store, now + timedelta(seconds=1), margin=timedelta(0))
    generate(client, DB, size, fresh)
    later = now + timedelta(seconds=2)
    out["tick_after_fresh_s"], out["tick_after_fresh_cpu_s"] = _cpu_timed(stages.evaluate, store, later,
                                                                          margin=timedelta(0))
    out["tick_after_fresh_accounts"], out["tick_after_fresh_people"] = _queued(client, later)
    out["tick_after_fresh_people_moved"] = people_shifted(client, DB, later)
    # live traffic: today's touches, a few percent late (what the hooks offer; the store's are a year's)
    generate(client, DB, size + fresh, fresh, live=True)
    live = later + timedelta(seconds=1)
    out["tick_after_live_s"], out["tick_after_live_cpu_s"] = _cpu_timed(stages.evaluate, store, live,
                                                                        margin=timedelta(0))
    out["tick_after_live_accounts"], out["tick_after_live_people"] = _queued(client, live)
    out["tick_after_live_people_moved"] = people_shifted(client, DB, live)
    boundary = live + timedelta(days=1)
    out["day_boundary_tick_s"], out["day_boundary_tick_cpu_s"] = _cpu_timed(stages.evaluate, store, boundary,
                                                                            margin=timedelta(0))
    out["day_boundary_accounts"], out["day_boundary_people"] = _queued(client, boundary)
    out["day_boundary_people_shifted"] = people_shifted(client, DB, boundary)
    return out


def _cpu_timed(fn, *args, **kwargs) -> tuple[float, float]:
    """(wall, CPU) seconds: the process's CPU, the engine's threads included (chDB runs in process)."""
    cpu = time.process_time()
    wall = _timed(fn, *args, **kwargs)
    return wall, time.process_time() - cpu


def _queued(client, at: datetime) -> tuple[int, int]:
    """(accounts decided, people recomputed whole) by the tick taken at `at`."""
    b = {"b": int(at.timestamp() * 1000)}
    return tuple(client.query(f"SELECT count() FROM {DB}.{table} WHERE batch = %(b)s", parameters=b).result_rows[0][0]
                 for table in ("stage_queue", "person_queue"))


def people_shifted(client, db: str, at: datetime) -> int:
    """People whose kept sums the latest tick, taken at `at`, moved without recomputing them (written by
    it, not in its person_queue batch): by the differences of their changed person-days, or at a day
    boundary by the days on a window's edge (PersonState.update, shift)."""
    return client.query(
        f"SELECT count() FROM {db}.person_state WHERE version = (SELECT argMax(state_version, {LATEST_MARK}) "
        f"FROM {db}.stage_marks) AND (account_id, person_key) NOT IN (SELECT account_id, person_key "
        f"FROM {db}.person_queue WHERE batch = %(b)s)", parameters={"b": int(at.timestamp() * 1000)}).result_rows[0][0]


def measure(data_dir: Path, sizes: tuple[int, ...], repeats: int, fresh: int = 1000) -> Iterator[tuple[int, dict]]:
    """Grow the store to each size in turn (fresh touches of one size count toward the next); yields
    (size, results) as each size is done."""
    from pulse.bench.queries import _CONTACTS, _PROGRAMS, _REGISTRY, ACCOUNTS, CONTACTS, generate
    from sinks.client import engine_reader_client, writer_client
    from sinks.migrate import migrate

    settings = Settings(data_dir=data_dir, database=DB)
    client = writer_client(settings)
    migrate(client, settings)
    for sql in (_REGISTRY, _CONTACTS, _PROGRAMS):
        client.command(sql.format(db=DB, accounts=ACCOUNTS, contacts=CONTACTS))
    reader = engine_reader_client(settings)
    reader.database = DB
    rows = 0
    for size in sizes:
        generated_s = _timed(generate, client, DB, rows, size - rows)
        row = {"touches": client.query(f"SELECT count() FROM {DB}.touches").result_rows[0][0],
               "engagement_rows": client.query(f"SELECT count() FROM {DB}.engagement_daily").result_rows[0][0],
               "generate_s": generated_s, **_ticks(client, size, fresh)}
        rows = size + 2 * fresh
        account = client.query(f"SELECT account_id FROM {DB}.engagement_daily WHERE account_id != '' "
                               "GROUP BY account_id ORDER BY sum(touches) DESC LIMIT 1").result_rows[0][0]
        yield size, row | _queries(reader, account, repeats)


def side_by_side(rows: dict[int, dict]) -> str:
    """Pure: the sizes' results as one Markdown table, a column per size (BENCHMARKS.md takes it whole)."""
    sizes = sorted(rows)
    names = list(dict.fromkeys(k for size in sizes for k in rows[size]))
    lines = ["| measure | " + " | ".join(f"{size:,} touches" for size in sizes) + " |",
             "|---|" + "---|" * len(sizes)]
    for name in names:
        lines.append(f"| {name} | " + " | ".join(_cell(rows[size].get(name)) for size in sizes) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"
    return f"{value:,}" if isinstance(value, int) else str(value)

