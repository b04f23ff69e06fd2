"""A stage change is recorded only once Kafka has acknowledged it: the broker stops answering just as an
account changes stage, the worker is SIGKILLed while it waits, and the change still reaches the topic once
the broker and a new worker are back.

The worker used to record a change as soon as it had queued the message. Queued to a broker that does
not answer and lost with the process, the change was recorded but never delivered, and no later tick sent
it again (each finds it recorded): a CRM following the stage-changes topic never heard of it.

The order of events is made certain with the worker's outage switch (fault injection): the sink holds the
account's first touch while the broker is frozen, so the tick that finds the change runs after it."""
from __future__ import annotations

import signal
import uuid
from datetime import datetime, timedelta, timezone

import msgspec

from conftest import sql_rows, wait_until
from hooks_helpers import TopicReader
from opskit import accounts, health, publish_registry, send_in_messages, sink_outage, wait_for_registry, with_faults
from schemas import topics
from schemas.events import EmailClick

UNACKNOWLEDGED = "Kafka did not acknowledge"


def log_has(worker, text: str) -> bool:
    return text in worker.log.read_text(errors="replace")


def test_a_change_unacknowledged_by_kafka_is_not_recorded_and_is_delivered_later(settings, own_broker, start):
    settings = with_faults(settings.replace(kafka_bootstrap=own_broker.bootstrap))
    publish_registry(settings, accounts(1))
    worker = start("worker", settings)
    wait_for_registry(settings, 1)
    # the sink refuses writes, the touch arrives and waits in it; the broker freezes; then the sink
    # stores the touch and the next tick finds acc-000 aware, while Kafka answers nothing
    sink_outage(settings, 20)
    click = EmailClick(event_id=uuid.uuid4(), occurred_at=datetime.now(timezone.utc) - timedelta(minutes=5),
                       email="ann@acc000.example", campaign_id="cmp-1", url="https://www.example.com/x")
    send_in_messages(settings, [click], seed=1)
    wait_until(lambda: health(settings)["sink_state"] != "ok", 60, 0.2, what="the touch held by the sink")
    own_broker.freeze()
    try:
        wait_until(lambda: sql_rows(settings, "SELECT count() FROM touches") == [(1,)], 120, 0.5,
                   what="the touch stored once the sink is back")
        wait_until(lambda: log_has(worker, UNACKNOWLEDGED) or sql_rows(settings, "SELECT count() FROM stage_changes")[0][0],
                   120, 0.5, what="the tick that finds acc-000's change")
        assert sql_rows(settings, "SELECT count() FROM stage_changes") == [(0,)], \
            "a stage change was recorded while Kafka had not acknowledged it"
        worker.stop(signal.SIGKILL)  # its unanswered message dies with it
    finally:
        own_broker.thaw()

    start("worker", settings)
    reader = TopicReader(settings, topics.STAGE_CHANGES)

    def delivered_and_recorded():
        sent = [msgspec.json.decode(raw)["change_id"] for raw in reader.read()]
        recorded = [r[0] for r in sql_rows(settings, "SELECT change_id FROM stage_changes")]
        return (sent, recorded) if recorded and set(sent) == set(recorded) else None

    sent, recorded = wait_until(delivered_and_recorded, 120, 1.0, what="the change delivered, then recorded")
    assert recorded == ["acc-000:1"] and set(sent) == {"acc-000:1"}, (sent, recorded)
