"""The stage tick's share of the embedded engine (Store.urgent, streams/stages.evaluate), on the real engine:
its session yields to scoring and storing (os_thread_priority 19, streams/worker.evaluator_client), but a tick
of changed accounts, and finding and recording the changes, what a stage change waits for, run at the normal
priority; a full evaluation and a new day's move still yield, and the session is left yielding after either."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sinks.stage_marks import LATEST_MARK
from sinks.store import Store
from streams import stages
from tests.rollup_helpers import RandomEngagement, register

PRIORITY = "os_thread_priority"


def engine_priority(client) -> str:
    return str(client.query(f"SELECT getSetting('{PRIORITY}')").result_rows[0][0])


class Priorities:
    """Records the session's priority as each statement of a tick is sent (the real client still sends it)."""

    def __init__(self, client):
        self.seen: list[str] = []
        for name in ("query", "command", "insert"):
            real = getattr(client, name)

            def spied(*args, _real=real, **kwargs):
                self.seen.append(client.get_client_setting(PRIORITY))
                return _real(*args, **kwargs)

            setattr(client, name, spied)

    def tick(self, store: Store, now: datetime) -> tuple[str, set[str]]:
        self.seen.clear()
        stages.evaluate(store, now, margin=timedelta(0))
        kind = store.client.query(f"SELECT argMax(kind, {LATEST_MARK}) FROM {store.database}.stage_marks"
                                  ).result_rows[0][0]
        return kind, set(self.seen)


def test_urgent_runs_at_the_normal_priority_and_restores_the_yield(engine):
    client, settings = engine
    store = Store(client, settings.database)
    with store.urgent():  # a session that does not yield (a ClickHouse server's) is left alone
        assert client.get_client_setting(PRIORITY) is None
    client.set_client_setting(PRIORITY, 19)
    with store.urgent():
        assert engine_priority(client) == "0"
    assert engine_priority(client) == "19"
    try:
        with store.urgent():
            raise RuntimeError("a failed query")
    except RuntimeError:
        pass
    assert engine_priority(client) == "19"


def test_only_a_tick_of_changed_accounts_leaves_the_yield(engine):
    client, settings = engine
    db = settings.database
    client.set_client_setting(PRIORITY, 19)
    store = Store(client, db)
    register(client, db)
    data = RandomEngagement(client, db, seed=3, spread_days=30)
    now = datetime.now(timezone.utc).replace(hour=12, minute=0, second=0, microsecond=0)
    data.round(now - timedelta(minutes=10), 200, 0)
    spy = Priorities(client)
    assert spy.tick(store, now) == ("full", {"19"})  # the first evaluation: everything
    data.round(now + timedelta(minutes=1), 40, 10)
    kind, seen = spy.tick(store, now + timedelta(minutes=2))
    assert kind == "changed" and "0" in seen
    assert engine_priority(client) == "19"
    spy.seen.clear()  # then the changes are found and recorded: the stage change waits for those too
    stages.record(store, stages.detect(store, now + timedelta(minutes=2)))
    assert set(spy.seen) == {"0"} and engine_priority(client) == "19"
    tomorrow = now + timedelta(days=1)
    assert spy.tick(store, tomorrow) == ("day", {"19"})  # a new day's move: every account's windows


def test_the_background_jobs_take_one_thread_of_the_embedded_engine(engine):
    """The dashboard's snapshots and the behaviour pass: nothing waits on them within seconds (BENCHMARKS.md:
    program_reach's snapshot 284 MB on one thread at 100M, 425 MB on two, in about the same time)."""
    from streams.worker import background_client, evaluator_client

    _, settings = engine
    background, evaluator = background_client(settings), evaluator_client(settings)
    assert str(background.query("SELECT getSetting('max_threads')").result_rows[0][0]) == "1"
    assert engine_priority(background) == "19"
    assert str(evaluator.query("SELECT getSetting('max_threads')").result_rows[0][0]) != "1"
