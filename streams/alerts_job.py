"""Alert delivery: a leader-only job of the worker that reads its own store and records every attempt there.

Why in the worker and not a separate `pulse alerts` process: in the embedded mode only the worker may open the
chDB directory, and the deduplication must read and write `alert_deliveries` in the same store as the stage
changes. A separate process would have to send its records back through Kafka to the worker (or an endpoint of
it) and could not read its own writes before the next decision; the worker's leader has both at hand, exactly
as the stage evaluation does. Being leader-only, one worker of a group delivers at a time.

Each tick reads the moments of the last LOOKBACK of every kind the rules use, the latest recorded attempt of
each (rule, moment), makes the attempts that are due and records each one right after it is made. So a
restart, a replay or a second look at the same moment sends nothing twice; only a crash between a destination
accepting an alert and its record being written sends it again (at least once; webhooks carry the
X-Pulse-Delivery key to dedupe on).
"""
from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta, timezone
from typing import Callable

from clickhouse_connect.driver.client import Client

from schemas.alert_rules import AlertRules, load
from schemas.settings import Settings
from sinks import threads
from sinks.store import Store
from streams import alert_senders
from streams.core import alerts

log = logging.getLogger("pulse.alerts")
# Moments older than this are not alerted on: a new rule (or a first start) does not send the whole history.
LOOKBACK = timedelta(hours=24)


def load_rules(settings: Settings) -> AlertRules:
    """The rules of PULSE_ALERTS_FILE, secrets from this process's environment (AlertRulesError names problems)."""
    import os

    return load(settings.alerts_file, os.environ)


def _utc(at: datetime | None) -> datetime | None:
    return at if at is None or at.tzinfo else at.replace(tzinfo=timezone.utc)


def run_once(store: Store, rules: AlertRules, now: datetime, dashboard_url: str, first_touch_s: int,
             send: Callable = alert_senders.deliver) -> list[list]:
    """One pass: the attempts due at `now`, made and recorded; returns the rows recorded."""
    kinds = sorted({rule.kind for rule in rules.rules})
    moments = [alerts.Moment(*row[:6], bool(row[6]), _utc(row[7]), row[8])
               for kind in kinds for row in store.alert_moments(kind, now - LOOKBACK, first_touch_s)]
    if not moments:
        return []
    states = {(rule, change): alerts.State(status, attempts, _utc(next_at))
              for rule, change, status, attempts, next_at in
              store.latest_alert_deliveries(sorted({m.change_id for m in moments}))}
    recorded = []
    for attempt in alerts.due(rules.rules, moments, states, now):
        try:
            send(attempt.rule, attempt.moment, dashboard_url)
            error = None
        except alert_senders.DeliveryError as exc:
            error = str(exc)
        row = alerts.outcome(attempt, error, now, rules.retry_base_seconds, rules.max_attempts)
        # recorded at once, each: a crash after a send re-sends at most the one alert whose record was lost
        store.record_alert_deliveries(alerts.ROW_COLUMNS, [row])
        recorded.append(row)
        if error:
            log.warning("alert %s for %s: attempt %d failed: %s", attempt.rule.name, attempt.moment.change_id,
                        attempt.number, error)
    return recorded


class AlertDelivery:
    """The worker's timer body (leader only): `run_once` on a thread and a session of its own."""

    every = 2.0

    def __init__(self, pipeline, make_client: Callable[[], Client], rules: AlertRules):
        self.pipeline = pipeline
        self.make_client = make_client
        self.rules = rules
        self.executor = threads.executor("pulse-alerts")
        self.store: Store | None = None

    async def __call__(self) -> None:
        if self.pipeline.writer.state != "ok" or not self.rules.rules:
            return
        await asyncio.get_running_loop().run_in_executor(self.executor, self._pass)

    def _pass(self) -> None:
        settings = self.pipeline.settings
        if self.store is None:
            self.store = Store(self.make_client(), settings.database)
        try:
            run_once(self.store, self.rules, datetime.now(timezone.utc), settings.dashboard_url,
                     round(settings.sla_first_touch_hours * 3600))
        except Exception:
            self.store.client.close()  # a failed query may leave the session unusable: a new one next time
            self.store = None
            raise
