"""A full stage tick (streams/stages.evaluate): every person-day's capped minutes folded again when it must
be, every person's window sums rebuilt, every account decided, slice by slice. At 100M touches that is
about ten minutes alone, and a worker stops within seconds of SIGTERM: a stop or a kill part-way left a
state no mark names, which the next start rebuilt from the first slice, and a worker restarted often
enough never finished. So each step is noted as it ends (sinks/rebuild_steps.py) and the next tick, in
this process or another, resumes the same rebuild where it stopped, with the same version and plan:
as at the same moment and reporting day, its mark saying it read what the plan read, so the next tick
takes in everything since."""
from __future__ import annotations

from datetime import date
from typing import Callable

from sinks.day_state import PersonDays
from sinks.rebuild_steps import CLEARED, Plan, RebuildSteps
from sinks.stage_marks import epoch_ms
from sinks.stage_state import PersonState
from sinks.store import Store

Done = set[tuple[str, int]]


def unfinished(store: Store, marked: int, today: date, max_gap_days: int) -> tuple[Plan, Done] | None:
    """The full tick begun after the latest mark's state version `marked` and not finished, with the steps
    it did, when it can be resumed: nothing was written after it began (the kept state is its own), and
    its reporting day is within `max_gap_days` of `today` (older changes than that are not kept: the next
    tick would rebuild everything again)."""
    found = RebuildSteps(store.client, store.database).latest_after(marked)
    if found is None:
        return None
    plan = found[0]
    if not 0 <= (today - plan.today).days <= max_gap_days:
        return None
    days, people = PersonDays(store.client, store.database), PersonState(store.client, store.database)
    if days.written_after(plan.version) or people.written_after(plan.version):
        return None
    return found


def run(store: Store, plan: Plan, done: Done | None = None) -> None:
    """The full tick `plan`, or (`done`: the steps it did) what remains of it."""
    steps = RebuildSteps(store.client, store.database)
    if done is None:
        steps.begin(plan)
        done = set()
    if plan.refold:
        days = PersonDays(store.client, store.database)
        _step(steps, plan, done, "days", days.TABLES, days.clear,
              lambda i: days.rebuild_slice(plan.version, plan.slices, i))
        if ("people", CLEARED) not in done:  # the people's step begins after it: it ran if that began
            store.note_account_days(None)
    people = PersonState(store.client, store.database)
    _step(steps, plan, done, "people", people.TABLES, people.clear,
          lambda i: people.rebuild_slice(plan.today, plan.version, plan.slices, i))
    _decide(store, steps, plan, done)


def _step(steps: RebuildSteps, plan: Plan, done: Done, name: str, tables: tuple[str, ...],
          clear: Callable[[], None], write_slice: Callable[[int], None]) -> None:
    """Clear `tables` and write every slice, or what remains of that. The
    first slice not done after a stop may have been cut short (written in part, perhaps to one of the two
    tables a write feeds): its rows are deleted first."""
    todo = [i for i in range(plan.slices) if (name, i) not in done]
    if not todo:
        return
    if (name, CLEARED) in done:
        steps.delete_slice(tables, plan.slices, todo[0])
    else:
        clear()
        steps.note(plan, name, CLEARED)
    for i in todo:
        write_slice(i)
        steps.note(plan, name, i)


def _decide(store: Store, steps: RebuildSteps, plan: Plan, done: Done) -> None:
    """Every account as at the plan's moment, slice by slice, with the tick's formula over the state just
    rebuilt (batches apart from any tick's: a tick's batch is its moment in ms). A slice decided twice
    writes the same rows again, which the snapshot keeps once."""
    first = epoch_ms(plan.started_at) * 1000
    for i in range(plan.slices):
        if ("decide", i) in done:
            continue
        if store.queue_account_slice(first + i, plan.started_at, plan.slices, i):
            store.snapshot_stage_batch(plan.started_at, first + i, plan.version)
        steps.note(plan, "decide", i)
