"""A stage tick of changed accounts that died part-way (a stop past the 4 s deadline, a kill, the engine gone)
left writes its mark does not name: a torn state, which the next tick used to rebuild whole (at 100M about twenty
minutes beside the worker's other jobs, in which no stage changed). Under load a tick of changed accounts runs
most of the time, so most stops land in one. Such a tick writes only what it computes from the kept state,
versioned above the last mark, and notes its version before it writes (stage_ticks_begun); what it left is
repaired instead: the account-day sums and the account sums it wrote set to their kept parts, and the people it
wrote or whose kept person-days it changed recomputed from those person-days. The next tick then takes in every
change since the last mark, as the dead one would have. A version nobody noted (a full tick's plan is resumed,
streams/stage_rebuild.py; anything else is not a tick's) is still rebuilt."""
from __future__ import annotations

from sinks.day_state import PersonDays
from sinks.rebuild_steps import RebuildSteps
from sinks.stage_marks import StageMark
from sinks.stage_state import PersonState
from sinks.store import Store


def repairable(store: Store, mark: StageMark | None, marked: int) -> bool:
    """Whether the torn state after the latest mark (state version `marked`) is an incremental tick's, died
    part-way: one began since, nothing was written above the version it noted, and no full tick began since."""
    if mark is None:
        return False
    began = store.tick_begun_after(marked)
    if not began or RebuildSteps(store.client, store.database).latest_after(marked) is not None:
        return False
    days, people = PersonDays(store.client, store.database), PersonState(store.client, store.database)
    return not (days.written_after(began) or people.written_after(began))


def repair(store: Store, marked: int, mark: StageMark, version: int, batch: int) -> None:
    """What a tick that died part-way left after state version `marked` (the latest `mark`'s), made whole with
    `version` (below the repairing tick's own): each person recomputed as at the reporting day the mark left its
    account at (a new day's move half done leaves some at the day before; queued as `batch` and the one below)."""
    PersonDays(store.client, store.database).repair_after(marked, version)
    PersonState(store.client, store.database).repair_after(marked, batch, version, mark.today, mark.day_from)
