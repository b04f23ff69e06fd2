"""SIGKILL the worker twice while it stores 24,000 opportunity snapshots (a tenth of them re-sent,
all out of order, some at the same instant): the stored history holds each snapshot once and the
views equal the state and history the Python rules give (streams/core/opportunities.py)."""
from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

from conftest import sql_rows, wait_until
from opskit import now_utc, send_in_messages
from schemas.rows import OpportunityRow
from schemas.validate import Accepted, validate
from streams.core.opportunities import current_state, stage_visits

STAGES = ["Prospecting", "Discovery", "Proposal", "Negotiation"]


def history(n_opportunities: int, per: int, seed: int):
    """Snapshots as validated events (ids derived from the content), re-sends included, shuffled."""
    rnd, now = random.Random(seed), now_utc().replace(microsecond=0)
    items = []
    for o in range(n_opportunities):
        created = now - timedelta(days=30)
        for k in range(per):
            closed = k == per - 1 and rnd.random() < 0.5
            won = closed and rnd.random() < 0.5
            at = now - timedelta(seconds=rnd.randrange(0, 20 * 86_400, 60))  # on the minute: ties happen
            items.append({"type": "opportunity", "opportunity_id": f"o-{o}", "account_id": f"acct-{o % 40}",
                          "stage": ("Closed Won" if won else "Closed Lost") if closed else rnd.choice(STAGES),
                          "is_closed": closed, "is_won": won, "amount": f"{rnd.randrange(0, 10**7) / 100:.2f}",
                          "created_at": created.isoformat(), "close_date": date.today().isoformat(),
                          "occurred_at": at.isoformat()})
    items += rnd.sample(items, len(items) // 10)  # the CRM re-sends some
    rnd.shuffle(items)
    events = []
    for item in items:
        result = validate(item, now=now, max_age=timedelta(days=90), currency="USD")
        assert isinstance(result, Accepted), result
        events.append(result.event)
    return events


def test_sigkill_while_storing_snapshots_changes_nothing(settings, start):
    settings = settings.replace(batch_max_rows=1_000)
    events = history(2_000, 12, seed=15)
    rows = [OpportunityRow.of(e, e.occurred_at, "USD") for e in events]
    unique = len({e.event_id for e in events})
    state, visits = current_state(rows), stage_visits(rows)
    start("worker", settings).stop()  # migrated and the topics made before anything is sent
    send_in_messages(settings, events, seed=15, sizes=(20, 60))

    def stored() -> int:
        return sql_rows(settings, "SELECT count() FROM opportunity_snapshots")[0][0]

    worker = start("worker", settings)
    for goal in (unique // 3, 2 * unique // 3):
        wait_until(lambda: stored() >= goal, 300, 0.05, what=f"{goal} snapshots stored before the kill")
        worker.kill()
        worker = start("worker", settings)
    wait_until(lambda: stored() >= unique, 300, 0.2, what="every snapshot stored")
    assert stored() == unique  # not one twice, FINAL or not

    assert sql_rows(settings, "SELECT count(), sum(amount), countIf(is_won) FROM opportunities WHERE is_closed")[0] == \
        (sum(1 for r in state.values() if r.is_closed), sum(r.amount for r in state.values() if r.is_closed),
         sum(r.is_won for r in state.values()))
    want = {(k, r.stage, r.amount) for k, r in state.items()}
    assert set(sql_rows(settings, "SELECT opportunity_id, stage, amount FROM opportunities")) == want
    assert sql_rows(settings, "SELECT count(), countIf(left_at IS NULL) FROM opportunity_stages") == \
        [(len(visits), sum(v.left_at is None for v in visits))]
    assert sum(Decimal(r[0]) for r in sql_rows(settings, "SELECT amount FROM opportunities")) == \
        sum(r.amount for r in state.values())
