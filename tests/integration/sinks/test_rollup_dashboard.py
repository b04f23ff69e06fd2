"""The dashboard statements that read the rollups (ui/queries.py ACCOUNT_DAILY, ACCOUNT_TRENDS from
account_daily; FRESHNESS from touch_arrivals) answer what the statements before them answered
(pulse/bench/rollups.py BEFORE) once the stage evaluator has run, on random touches with moves."""
from __future__ import annotations

from datetime import datetime, timezone

from pulse.bench.rollups import BEFORE
from sinks.client import engine_reader_client
from sinks.store import Store
from streams import stages
from tests.rollup_helpers import ACCOUNTS, RandomEngagement, register
from ui import queries


def test_rollup_statements_answer_as_before(engine):
    client, settings = engine
    register(client, settings.database)
    reader = engine_reader_client(settings)
    reader.database = settings.database
    data = RandomEngagement(client, settings.database, seed=11, spread_days=120)
    now = datetime.now(timezone.utc)
    for _ in range(3):
        data.round(now, new=300, moves=50)
        stages.evaluate(Store(client, settings.database), now)
        for account in ACCOUNTS:
            for name, params in (("ACCOUNT_DAILY", {"account": account}), ("ACCOUNT_TRENDS", {"accounts": [account]}),
                                 ("FRESHNESS", {})):
                before = reader.query(BEFORE[name], parameters=params).result_rows
                after = reader.query(getattr(queries, name), parameters=params).result_rows
                assert sorted(after) == sorted(before), (name, account)
    assert reader.query(queries.ACCOUNT_DAILY, parameters={"account": ACCOUNTS[0]}).result_rows
