"""ClickHouse unavailable, and rows it refuses: nothing lost, nothing counted twice, memory bounded."""
from __future__ import annotations

import threading
import uuid
from datetime import date, datetime, timezone
from decimal import Decimal


from conftest import sql_rows, wait_until
from opskit import (accounts, expected_totals, generate, health, now_utc, publish_registry, send_in_messages,
                    sink_outage, stored_totals, wait_for_registry, with_faults)
from schemas.rows import TouchRow
from sinks.writer import ClickHouseWriter


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


class HealthWatch:
    """The worker's health read every half second on a thread, while the test sends: the sink states seen, the
    error while retrying, the largest consumer lag, and the worker's RSS while the outage lasts."""

    def __init__(self, settings, pid: int):
        self.settings, self.pid = settings, pid
        self.states, self.retrying_error, self.lag, self.peaks = set(), "", 0, []
        self.last = {"sink_state": "", "outage_remaining_s": 1}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def __enter__(self) -> "HealthWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)

    def _watch(self) -> None:
        while not self._stop.wait(0.5):
            try:
                h = health(self.settings)
            except OSError:  # a slow answer under load: the next read counts
                continue
            self.states.add(h["sink_state"])
            if h["sink_state"] == "retrying":
                self.retrying_error = h["last_error"]
            if h["outage_remaining_s"] > 0:
                self.peaks.append(rss_bytes(self.pid))
            self.lag = max(self.lag, h["consumer_lag"])
            self.last = h


def test_clickhouse_away_for_90_s_loses_nothing_and_recovers_without_restart(settings, start):
    # small sink batches: Faust then buffers at most 2 x 40 messages while the sink is blocked
    settings = with_faults(settings.replace(batch_max_rows=2_000))
    publish_registry(settings, accounts(10))
    worker = start("worker", settings)
    wait_for_registry(settings, 10)
    # 4 KB of extra properties per event: ~130 MB arrive while ClickHouse is away, far above the worker's
    # own swings of RSS (up to ~35 MB either way, engine queries included), so holding them would show
    events, expected = generate(35_000, 10, seed=21, now=now_utc(), duplicate_share=0.02, pad=4_000)
    before, during = events[:3_000], events[3_000:]
    first = send_in_messages(settings, before, seed=21, sizes=(20, 30))
    wait_until(lambda: health(settings)["written"] > 0 and health(settings)["consumer_lag"] == 0, 60,
               what="the first events written")
    baseline = rss_bytes(worker.pid)

    # long enough for most messages to be sent while it lasts; health is watched from the start, so the
    # sink's retrying is seen however long sending takes (over 30 s on a slower machine)
    assert sink_outage(settings, 90) == {"sink_outage_s": 90.0}
    payload = sum(len(e.properties["pad"]) for e in during)
    with HealthWatch(settings, worker.pid) as watch:
        messages = first + send_in_messages(settings, during, seed=22, sizes=(20, 30))
        wait_until(lambda: watch.last["sink_state"] == "ok" and watch.last["outage_remaining_s"] == 0, 150, 0.5,
                   what="the sink to be ok again after the outage")
    assert "retrying" in watch.states and "injected outage" in watch.retrying_error
    peak = [baseline] + watch.peaks
    above = f"RSS above baseline while away: {round((max(peak) - baseline) / 1e6)} MB at most, {len(peak)} reads"
    print(f"outage: {messages - first} messages ({payload / 1e6:.0f} MB of padding) arrived; peak lag {watch.lag} "
          f"messages; {above}")
    # consumption paused: most of what arrived waited in Kafka, not in the worker's memory
    assert watch.lag > (messages - first) // 2
    assert max(peak) - baseline < payload / 2, above

    def caught_up():
        h = health(settings)
        return h["written"] + h["duplicates"] == len(events)

    wait_until(caught_up, 180, 0.5, what="the worker to catch up")
    assert worker.running()  # the same process: recovered without a restart
    assert stored_totals(settings) == expected_totals(expected)
    states = sql_rows(settings, "SELECT sink_state, min(at), max(at) FROM pipeline_health GROUP BY sink_state")
    spans = {state: (first_at, last_at) for state, first_at, last_at in states}
    assert set(spans) == {"ok", "retrying"}
    assert spans["ok"][1] > spans["retrying"][1]   # ok again after the outage
    log = worker.log.read_text()
    assert "failed, pausing and retrying" in log and "succeeded again" in log


def touch_row(minutes: str, n: int) -> TouchRow:
    at, event_id, person = datetime(2026, 11, 20, 10, tzinfo=timezone.utc), uuid.UUID(int=n, version=4), f"p{n}@acme.example"
    return TouchRow(event_id=event_id, type="meeting", occurred_at=at, received_at=at, day=date(2026, 11, 20),
                    account_id="acme", person=person, method="domain", channel="meeting", program_id="",
                    minutes=Decimal(minutes), base_minutes=Decimal(minutes), success=0, email=person,
                    anonymous_id="", ip="", url="",
                    payload=f'{{"event_id": "{event_id}", "duration_minutes": "{minutes}"}}')


def test_a_row_clickhouse_refuses_is_dead_lettered_and_the_rest_of_its_batch_is_written(engine):
    # The event contract caps every number, so no valid event produces such a row any more; the
    # writer is the last line, so it is fed one directly: 10^17 minutes do not fit Decimal(18, 2).
    client, settings = engine
    writer = ClickHouseWriter(client, settings.database, "w-refused")
    writer.start()
    good = [touch_row("1.25", n) for n in range(1, 301)]
    bad = touch_row("100000000000000000", 999)
    result = writer.write(good[:150] + [bad] + good[150:])
    assert (result.written, result.duplicates, result.dead_lettered) == (300, 0, 1)
    assert writer.state == "ok"

    def totals():
        return client.query(f"SELECT sum(minutes), sum(touches) FROM {settings.database}.engagement_daily "
                            "WHERE kind = 'touch'").result_rows[0]

    def dead_letters():
        return client.query(f"SELECT source, reasons, payload, dlq_key FROM {settings.database}.rejected_events "
                            "FINAL").result_rows

    assert totals() == (Decimal("375.00"), 300)
    (source, reasons, payload, key), = dead_letters()
    assert source == "sink" and key == f"sink/{bad.event_id}"
    assert '"field":"minutes"' in reasons and "ClickHouse refused the row" in reasons
    assert payload == bad.payload  # the event as received, to replay once the cause is fixed

    # the same batch again (a replay): the good rows are duplicates, the bad one stays one dead letter
    again = writer.write([bad, good[0]])
    assert (again.written, again.duplicates, again.dead_lettered) == (0, 1, 1)
    assert totals() == (Decimal("375.00"), 300)
    assert len(dead_letters()) == 1


def test_stopping_the_worker_while_clickhouse_is_away_commits_nothing_unwritten(settings, start):
    settings = with_faults(settings)
    publish_registry(settings, accounts(5))
    worker = start("worker", settings)
    wait_for_registry(settings, 5)
    events, expected = generate(5_000, 5, seed=41, now=now_utc())
    sink_outage(settings, 600)
    send_in_messages(settings, events, seed=41)
    wait_until(lambda: health(settings)["sink_state"] == "retrying", 30, what="the sink retrying")
    # SIGTERM does not wait ten minutes for ClickHouse, and does not commit the batch it could not write
    assert worker.stop() == 75
    assert "exiting now without committing" in worker.log.read_text()
    start("worker", settings)  # the outage hook died with the old worker: ClickHouse is back
    wait_until(lambda: stored_totals(settings) == expected_totals(expected), 60,
               what="every event, read again by the new worker")
