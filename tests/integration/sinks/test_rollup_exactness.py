"""account_engagement from the signed person-day sums (engagement_daily, caps applied per person-day)
equals the same formula over the raw touches, row by row, on random touches: page views over the
daily cap, form submissions over theirs, versions that move touches between accounts and people or
re-score them (retract and re-add), touches a minute either side of a midnight of the reporting time
zone, a few dated after today, and windows evaluated at moments days and months apart (decay)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.rollup_helpers import (  # noqa: F401 (zoned: a fixture)
    CONTACTS, RandomEngagement, add_contacts, evaluated, raw_engagement, register, zoned)



# moments the windows are evaluated at: now, either side of the next local midnights, a month on
OFFSETS = [timedelta(0), timedelta(hours=7, minutes=59), timedelta(hours=8, minutes=1), timedelta(days=1),
           timedelta(days=8), timedelta(days=31), timedelta(days=91), timedelta(days=200)]


@pytest.mark.parametrize("seed", [1, 2])
def test_rollup_formula_equals_raw_touches(zoned, seed):
    client, db = zoned
    register(client, db)
    at = datetime.now(timezone.utc).replace(hour=0, minute=0, second=0, microsecond=0)  # 16:00 or 17:00 local
    data = RandomEngagement(client, db, seed)
    for n in range(4):
        data.round(at, new=400, moves=60)
        if n == 1:
            add_contacts(client, db, CONTACTS)  # a contact confirms the web touches of a claimed email
        for offset in OFFSETS:
            raw, rolled = raw_engagement(client, db, at + offset), evaluated(client, db, at + offset)
            assert len(raw) == len(rolled) == 8
            for want, got in zip(raw, rolled):
                assert tuple(got) == tuple(want), (offset, got[0])
    # the random data reached what it is meant to: stages past aware, capped days, moved touches
    stages = {r[11] for r in raw_engagement(client, db, at)}
    assert {"engaged", "mqa"} & stages, stages
    assert sum(1 for r in data.latest.values() if r.retracts) > 100
    over_cap = client.query(f"SELECT count() FROM (SELECT sum(pv_base) AS b FROM {db}.engagement_daily "
                            "GROUP BY account_id, person, day HAVING b > 30)").result_rows[0][0]
    assert over_cap > 5
