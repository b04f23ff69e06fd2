"""Which partition of the touches topic owns an event id: its home.

Several workers on one shared store must never decide about one event id at the same moment (both
look it up, neither finds it, both store it: its minutes counted twice). Kafka gives each partition
to one consumer at a time, so each id gets one home partition; a worker that finds an event away
from its home forwards it there (once Kafka has it, the message is acknowledged), and only the home
partition's owner ever stores it. A hash of the id's bytes, not the id's low bits: UUIDv1 ids from
one host share their last 48 bits.
"""
from __future__ import annotations

import zlib
from collections.abc import Iterable
from uuid import UUID


def home_partition(event_id: UUID, partitions: int) -> int:
    return zlib.crc32(event_id.bytes) % partitions


def keep_home(events: Iterable, partition: int, partitions: int, away: dict[int, list]) -> list:
    """The events whose home is `partition`; the others are added to `away` under their home."""
    home = []
    for event in events:
        owner = zlib.crc32(event.event_id.bytes) % partitions
        if owner == partition:
            home.append(event)
        else:
            away.setdefault(owner, []).append(event)
    return home


def by_home(events: Iterable, partitions: int) -> dict[int, list]:
    """The events grouped by their home partition, each group in its order of arrival."""
    groups: dict[int, list] = {}
    for event in events:
        groups.setdefault(zlib.crc32(event.event_id.bytes) % partitions, []).append(event)
    return groups
