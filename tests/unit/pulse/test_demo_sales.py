"""The demo's sales side: every call, email, meeting and decision passes the contract, and the story is consistent
with the demo's lifecycle history (every attempt at or after the person's MQL, never in the future, by the person's
owner; Avery works fast and persistently, Devon slowly), and decisions give reasons for every rejection."""
from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from pulse import demo_funnel
from pulse.demo import make_world
from pulse.demo_sales import make_decisions, make_sales_activity, work_lead
from schemas.validate import Accepted, validate

NOW = datetime(2026, 3, 15, 12, tzinfo=timezone.utc)


def valid(item: dict) -> bool:
    return isinstance(validate(item, now=NOW, max_age=timedelta(days=400)), Accepted)


def test_the_reps_work_every_mql_after_it_became_one_and_never_in_the_future():
    world = make_world(7)
    lifecycle = demo_funnel.make_lifecycle(world, random.Random(10), NOW)
    touches = make_sales_activity(world, random.Random(11), NOW, lifecycle)
    assert len(touches) > 100 and all(valid(t) for t in touches)
    mql = {}
    for change in sorted(lifecycle, key=lambda c: c["occurred_at"]):
        if change["stage"] in ("mql", "sql", "opportunity", "customer"):
            mql.setdefault(change["email"], datetime.fromisoformat(change["occurred_at"]))
    owner = {c["email"]: c["owner"] for c in sorted(lifecycle, key=lambda c: c["occurred_at"], reverse=True)
             if c.get("owner")}
    for t in touches:
        at = datetime.fromisoformat(t["occurred_at"])
        assert mql[t["email"]] <= at < NOW and t["rep"] == owner[t["email"]], t
    kinds = {(t["type"], t.get("direction"), t.get("outcome")) for t in touches}
    assert ("sales_email", "inbound", None) in kinds and ("meeting", None, None) in kinds
    assert {o for _, _, o in kinds if o} == {"no_answer", "voicemail", "connected", "conversation", "meeting_booked"}


def test_avery_is_fast_and_persistent_devon_slow_and_sparse():
    mql_at = NOW - timedelta(days=30)

    def first_hours_and_attempts(rep: str) -> list[tuple[float, int]]:
        out = []
        for seed in range(40):
            work = work_lead(random.Random(seed), f"p{seed}@x.example", rep, mql_at, NOW)
            attempts = [t for t in work if t["type"] != "meeting" and t.get("direction") != "inbound"]
            if attempts:
                first = min(datetime.fromisoformat(t["occurred_at"]) for t in attempts)
                out.append(((first - mql_at).total_seconds() / 3600, len(attempts)))
        return out

    avery, devon = first_hours_and_attempts("Avery"), first_hours_and_attempts("Devon")
    assert len(avery) == 40 and all(h <= 20 and n >= 5 for h, n in avery)
    assert len(devon) < 40 and all(h >= 20 and n <= 4 for h, n in devon)


def test_decisions_give_reasons_and_reopen_one_not_interested():
    world = make_world(7)
    decisions = make_decisions(world, random.Random(3), NOW - timedelta(minutes=5), 0, 40)
    assert all(valid(d) for d in decisions)
    statuses = [d["status"] for d in decisions]
    assert {"accepted", "rejected", "not_interested", "reopened"} <= set(statuses)
    assert all(d.get("reason") for d in decisions if d["status"] in ("rejected", "not_interested"))
    reopened = next(d for d in decisions if d["status"] == "reopened")
    before = next(d for d in decisions if d["status"] == "not_interested" and d["account_id"] == reopened["account_id"])
    assert before["occurred_at"] < reopened["occurred_at"]
    targets = {a.account_id for a in world.accounts if a.is_target}
    assert {d["account_id"] for d in decisions} <= targets


def test_decisions_follow_the_crm_history_an_account_with_a_won_or_open_deal_is_accepted():
    """As run() makes them (seed 7): the CRM history first, then both rounds of decisions on it. Without the
    history the same draws reject or drop accounts that won a deal; with it, none."""
    from pulse.demo import make_history
    from pulse.demo_crm import accounts_in_business, make_opportunities

    world = make_world(7)
    snapshots = make_opportunities(world, random.Random(9), NOW, make_history(world, random.Random(8), NOW))
    latest = {}
    for item in sorted(snapshots, key=lambda s: s["occurred_at"]):
        latest[item["opportunity_id"]] = item
    won = {o["account_id"] for o in latest.values() if o["is_won"]}
    open_ = {o["account_id"] for o in latest.values() if not o["is_closed"]}
    assert accounts_in_business(snapshots) == won | open_

    def decide(in_business: frozenset[str]) -> list[dict]:
        rnd = random.Random(11)
        return [d for first, last in ((0, 25), (25, 40))
                for d in make_decisions(world, rnd, NOW, first, last, in_business)]

    negative = ("rejected", "not_interested")
    assert any(d["status"] in negative and d["account_id"] in won for d in decide(frozenset()))  # the bug, seeded
    decisions = decide(accounts_in_business(snapshots))
    assert all(valid(d) for d in decisions)
    assert not [d for d in decisions if d["status"] in negative and d["account_id"] in won | open_]
    assert {d["account_id"] for d in decisions if d["status"] == "accepted"} >= won & {d["account_id"] for d in decisions}
    # the others still get every kind of decision: a story, not a column of "accepted"
    assert {"accepted", "rejected", "not_interested"} <= {d["status"] for d in decisions}
