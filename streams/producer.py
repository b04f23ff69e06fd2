"""Producing from the command line (imports, `pulse send`, the demo): kafka-python, synchronous."""
from __future__ import annotations

from datetime import datetime
from typing import Iterable, Sequence

from kafka import KafkaProducer

from schemas.settings import Settings
from schemas import topics
from schemas.events import Touch, encode_batch
from schemas.registry import (
    AccountRecord,
    AccountsChanged,
    ContactRecord,
    ContactsChanged,
    ProgramRecord,
    ProgramsChanged,
    encode_change,
)
from streams.core.homes import by_home

REGISTRY_CHUNK = 5_000
EVENTS_CHUNK = 500


def producer(settings: Settings) -> KafkaProducer:
    return KafkaProducer(bootstrap_servers=settings.bootstrap, acks="all", linger_ms=5,
                         max_request_size=8 * 1024 * 1024, client_id="pulse-cli")


def _chunks(items: Sequence, size: int) -> Iterable[Sequence]:
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _publish(p: KafkaProducer, settings: Settings, change, items: Sequence) -> None:
    """Registry records in batches of REGISTRY_CHUNK, one registry change per message."""
    for chunk in _chunks(items, REGISTRY_CHUNK):
        p.send(settings.topic(topics.REGISTRY), encode_change(change(list(chunk))))
    p.flush()


def publish_accounts(p: KafkaProducer, settings: Settings, accounts: Sequence[AccountRecord]) -> None:
    _publish(p, settings, AccountsChanged, accounts)


def publish_contacts(p: KafkaProducer, settings: Settings, contacts: Sequence[ContactRecord]) -> None:
    _publish(p, settings, ContactsChanged, contacts)


def publish_programs(p: KafkaProducer, settings: Settings, programs: Sequence[ProgramRecord]) -> None:
    _publish(p, settings, ProgramsChanged, programs)


def publish_dated(p: KafkaProducer, settings: Settings, change, items: Sequence, imported_at: datetime) -> None:
    """Spend or goals (SpendChanged / GoalsChanged) of one import, every chunk stamped with the import's time."""
    for chunk in _chunks(items, REGISTRY_CHUNK):
        p.send(settings.topic(topics.REGISTRY), encode_change(change(items=list(chunk), imported_at=imported_at)))
    p.flush()


def send_events(p: KafkaProducer, settings: Settings, events: Sequence[Touch]) -> None:
    """Validated events only: callers run schemas.validate first, as the hooks do."""
    name = settings.topic(topics.TOUCHES)
    for chunk in _chunks(events, EVENTS_CHUNK):
        if settings.route_events:  # several workers: each event to its id's home partition
            for home, group in by_home(chunk, len(p.partitions_for(name))).items():
                p.send(name, encode_batch(group), partition=home)
        else:
            p.send(name, encode_batch(list(chunk)))
    p.flush()
