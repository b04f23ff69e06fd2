"""The writer's memory of recent ids, read from the store at start: an array a day, filled as the rows stream in.

At 100M stored touches the 7 days' ids are about 15M. Read as one result they took about 1 GB of memory beside
the 180 MB they are then held in, and sorting them with their days another 300 MB (measured: BENCHMARKS.md, "The
worker's start-up memory"). Here the days are counted first, each day's array is made at its size, the rows come
a block at a time (query_np_stream) into those arrays, and each array is sorted in place.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
from clickhouse_connect.driver.client import Client

from sinks.seen_ids import LOW64

_MASK = str(LOW64)
# `day` is the reporting time zone's: a day's slack on occurred_at (the partition key) for the pruning
_WINDOW = "FROM {db}.touches WHERE day >= %(first)s AND occurred_at >= %(since)s"
RECENT_ID_DAYS = "SELECT toInt32(day) AS d, count() " + _WINDOW + " GROUP BY d"
RECENT_IDS = ("SELECT toUInt64(bitAnd(toUInt128(event_id), toUInt128('" + _MASK + "'))) AS h, toInt32(day) AS d "
              + _WINDOW)


def load_recent_ids(client: Client, database: str, first_day: date) -> dict[int, np.ndarray]:
    """{day number: the 64-bit hashes of the ids stored for that day} for the days from `first_day` on."""
    window = {"first": first_day, "since": datetime.combine(first_day - timedelta(days=1), datetime.min.time())}
    counted = client.query(RECENT_ID_DAYS.format(db=database), parameters=window).result_rows
    by_day = {int(day): np.empty(count, dtype=np.uint64) for day, count in counted}
    filled = dict.fromkeys(by_day, 0)
    with client.query_np_stream(RECENT_IDS.format(db=database), parameters=window) as blocks:
        for block in blocks:
            hashes, days = block["h"], block["d"]
            for day in np.unique(days).tolist():
                _put(by_day, filled, day, hashes[days == day])
    return {day: by_day[day][:n] for day, n in filled.items() if n}


def _put(by_day: dict[int, np.ndarray], filled: dict[int, int], day: int, hashes: np.ndarray) -> None:
    at = filled.get(day, 0)
    held = by_day.get(day, np.empty(0, dtype=np.uint64))
    if at + len(hashes) > len(held):  # stored after the count: grow this day's array
        held = by_day[day] = np.concatenate([held[:at], np.empty(max(at, len(hashes)), dtype=np.uint64)])
    held[at:at + len(hashes)] = hashes
    filled[day] = at + len(hashes)
