"""The demo's sales side (issue 16): each rep works the MQLs of the demo's lifecycle history (demo_funnel) the way
that rep does — Avery fast and persistent, Devon slow and sparse — with calls that have outcomes, one-to-one emails
out (and some replies in) and meetings after a booked call; and sales decide on the most engaged target accounts
(accepted, rejected, not interested with reasons, one reopened) once the worker has had time to see them become
MQA, since a decision counts for acceptance only after the MQA change. Touches go signed to /hooks/events,
decisions to /hooks/crm, so the Sales activity page fills within a minute."""
from __future__ import annotations

import logging
import random
import threading
import uuid
from datetime import datetime, timedelta, timezone

from pulse import demo_funnel

log = logging.getLogger("pulse.demo")

# rep: (chance an MQL is worked at all, hours to the first attempt (least, most), attempts (least, most))
_REPS = {"Avery": (1.0, (0.5, 20.0), (5, 7)), "Blake": (0.97, (2.0, 30.0), (4, 6)),
         "Casey": (0.9, (8.0, 50.0), (3, 5)), "Devon": (0.75, (20.0, 90.0), (1, 4))}
_OUTCOMES = (("no_answer", 0.35), ("voicemail", 0.2), ("connected", 0.18), ("conversation", 0.17),
             ("meeting_booked", 0.1))
_SUBJECTS = ("Following up on your visit", "The ABM playbook you downloaded", "Quick question", "Pricing for your team",
             "Next steps")
_REJECTED = ("Too small for us", "No budget this year", "Wrong industry")
_NOT_INTERESTED = ("Uses a competitor", "No need right now", "Just signed elsewhere")
# Reaching any of these reaches mql (the demo's ladder from mql on).
_FROM_MQL = ("mql", "sql", "opportunity", "customer", "evangelist")
# The account decisions wait this long (seconds) for the worker's first evaluations, and decide on these ranks of
# the most engaged target accounts; then again for the next ranks, which become MQA later.
DECISION_ROUNDS = ((15.0, 0, 25), (60.0, 25, 40))


def _touch(rnd: random.Random, kind: str, at: datetime, email: str, rep: str, **fields) -> dict:
    return {"event_id": str(uuid.UUID(int=rnd.getrandbits(128), version=4)), "type": kind,
            "occurred_at": at.isoformat(), "source": "demo", "email": email, "rep": rep, **fields}


def _call(rnd: random.Random, at: datetime, email: str, rep: str) -> dict:
    outcome = rnd.choices([o for o, _ in _OUTCOMES], [w for _, w in _OUTCOMES])[0]
    seconds = 0 if outcome == "no_answer" else rnd.randint(20 if outcome == "voicemail" else 120, 1500)
    return _touch(rnd, "call", at, email, rep, direction="outbound", outcome=outcome, duration_seconds=seconds)


def work_lead(rnd: random.Random, email: str, rep: str, mql_at: datetime, now: datetime) -> list[dict]:
    """The attempts (and what they lead to) of one rep on one MQL, as that rep works; none in the future."""
    worked, (first_least, first_most), (fewest, most) = _REPS.get(rep, _REPS["Blake"])
    if rnd.random() > worked:
        return []
    at = mql_at + timedelta(hours=rnd.uniform(first_least, first_most))
    touches = []
    for _ in range(rnd.randint(fewest, most)):
        if rnd.random() < 0.65:
            touches.append(_call(rnd, at, email, rep))
            if touches[-1]["outcome"] == "meeting_booked":
                touches.append(_touch(rnd, "meeting", at + timedelta(days=rnd.uniform(1, 5)), email, rep,
                                      duration_minutes=rnd.choice((30, 45, 60))))
        else:
            subject = rnd.choice(_SUBJECTS)
            touches.append(_touch(rnd, "sales_email", at, email, rep, direction="outbound", subject=subject))
            if rnd.random() < 0.25:  # the person replies
                touches.append(_touch(rnd, "sales_email", at + timedelta(hours=rnd.uniform(1, 48)), email, rep,
                                      direction="inbound", subject=f"Re: {subject}"))
        at += timedelta(days=rnd.uniform(0.5, 3.0))
    return [t for t in touches if datetime.fromisoformat(t["occurred_at"]) < now - timedelta(minutes=1)]


def make_sales_activity(world, rnd: random.Random, now: datetime, lifecycle: list[dict]) -> list[dict]:
    """The reps' work on every MQL of the lifecycle history (the owner of the person's first change)."""
    owners, mql_at = {}, {}
    for change in sorted(lifecycle, key=lambda c: c["occurred_at"]):
        email = change["email"]
        owners.setdefault(email, change.get("owner", ""))
        if change["stage"] in _FROM_MQL and email not in mql_at:
            mql_at[email] = datetime.fromisoformat(change["occurred_at"])
    owner_of = {c.email: a.owner for a in world.accounts for c in world.people.get(a.account_id, [])}
    touches = []
    for email, at in sorted(mql_at.items()):
        touches += work_lead(rnd, email, owners.get(email) or owner_of.get(email, ""), at, now)
    return touches


def make_decisions(world, rnd: random.Random, at: datetime, first: int, last: int,
                   in_business: frozenset[str] = frozenset()) -> list[dict]:
    """Sales' decisions at `at` on the most engaged target accounts of ranks first..last-1 (the demo's Zipf heads,
    the likeliest MQAs): about a fifth stay undecided; the first not_interested one is reopened. An account of
    `in_business` (a won or open opportunity in the demo's CRM history) is accepted: sales won or work a deal there."""
    heads = sorted((a for a in world.accounts if a.is_target), key=lambda a: -world.weights[world.accounts.index(a)])
    decisions = []
    for account in heads[first:last]:
        if rnd.random() < 0.2:
            continue
        status = rnd.choices(("accepted", "rejected", "not_interested"), (0.55, 0.25, 0.2))[0]
        if account.account_id in in_business:
            status = "accepted"
        reason = "" if status == "accepted" else rnd.choice(_REJECTED if status == "rejected" else _NOT_INTERESTED)
        decisions.append({"type": "account_status", "account_id": account.account_id, "status": status,
                          "occurred_at": at.isoformat(), "owner": account.owner, **({"reason": reason} if reason else {})})
    reopen = next((d for d in decisions if d["status"] == "not_interested"), None)
    if reopen is not None:  # decided a minute earlier, reopened now
        reopen["occurred_at"] = (at - timedelta(minutes=1)).isoformat()
        decisions.append({**reopen, "status": "reopened", "occurred_at": at.isoformat(), "reason": "New budget after all"})
    return decisions


def post_sales(post, hooks_url: str, secret: str, world, rnd: random.Random, now: datetime, seed: int,
               in_business: frozenset[str] = frozenset()) -> None:
    """The reps' work now (to /hooks/events, 500 a request), the account decisions later (to /hooks/crm), consistent
    with the CRM history (`in_business`: the accounts with a won or open opportunity, accepted)."""
    lifecycle = demo_funnel.make_lifecycle(world, random.Random(seed + 3), now)  # what demo_funnel posted
    touches = make_sales_activity(world, rnd, now, lifecycle)
    for start in range(0, len(touches), 500):
        post(f"{hooks_url}/hooks/events", touches[start:start + 500], secret)
    log.info("demo sales activity posted: %d calls, emails and meetings on %d MQLs", len(touches),
             len({t["email"] for t in touches}))

    def decide(first: int, last: int) -> None:
        try:
            post(f"{hooks_url}/hooks/crm", make_decisions(world, rnd, datetime.now(timezone.utc), first, last,
                                                          in_business), secret)
        except OSError as exc:
            log.warning("demo: account decisions not posted (%s)", exc)

    for delay, first, last in DECISION_ROUNDS:
        timer = threading.Timer(delay, decide, (first, last))
        timer.daemon = True
        timer.start()
