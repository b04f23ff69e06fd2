"""Event ids' home partitions (streams/core/homes.py): one home per id, spread evenly, order kept."""
from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass

from streams.core.homes import home_partition, keep_home


@dataclass
class Event:
    event_id: uuid.UUID


def test_an_id_has_one_home_whatever_the_call():
    ids = [uuid.uuid4() for _ in range(200)]
    assert [home_partition(i, 12) for i in ids] == [home_partition(uuid.UUID(str(i)), 12) for i in ids]
    assert all(0 <= home_partition(i, 12) < 12 for i in ids)


def test_version_1_ids_of_one_host_spread_over_every_partition():
    # uuid1 ids of one machine share their node (last 48 bits): low bits alone would send all to one partition
    counts = Counter(home_partition(uuid.uuid1(node=0x1234), 12) for _ in range(12_000))
    assert len(counts) == 12 and min(counts.values()) > 800, counts


def test_keep_home_splits_and_keeps_the_order():
    events = [Event(uuid.uuid4()) for _ in range(500)]
    away: dict[int, list] = {}
    home = keep_home(events, 3, 6, away)
    assert all(home_partition(e.event_id, 6) == 3 for e in home)
    assert 3 not in away and all(home_partition(e.event_id, 6) == p for p, es in away.items() for e in es)
    assert sorted(map(id, home + [e for es in away.values() for e in es])) == sorted(map(id, events))
    assert home == [e for e in events if e in home]  # the order of arrival within a home is kept
    assert keep_home(events, 0, 1, {}) == events     # one partition: every event is home
