"""The rollups bench's live touches (pulse/bench/queries.generate, live=True): today's traffic, a few
percent late, unlike the store's year of history; the tick the stage target is checked on reads them."""
from __future__ import annotations

from pulse.bench.queries import LATE_PCT, generate


def test_live_touches_land_within_the_hour_but_a_few_late(engine):
    client, settings = engine
    db = settings.database
    generate(client, db, 0, 4_000, live=True)
    recent, late, total = client.query(
        f"SELECT countIf(occurred_at >= now64(3) - INTERVAL 1 HOUR), countIf(occurred_at < now64(3) - INTERVAL 1 DAY), "
        f"count() FROM {db}.touches").result_rows[0]
    assert total == 4_000
    # LATE_PCT of 4,000 are late, about 95 % of those by more than a day (their age is a year's spread)
    assert 0.9 * total <= recent < total and 0.3 * LATE_PCT * 40 <= late <= 2 * LATE_PCT * 40, (recent, late)


def test_stored_touches_spread_over_the_year(engine):
    client, settings = engine
    db = settings.database
    generate(client, db, 0, 4_000)
    older = client.query(f"SELECT countIf(occurred_at < now64(3) - INTERVAL 30 DAY) FROM {db}.touches").result_rows[0][0]
    assert older > 0.5 * 4_000, older  # P(age > 30 days) = 1 - sqrt(30 / 365), about 71 %
