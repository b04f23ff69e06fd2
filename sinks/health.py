"""The worker's health reading: one row of `pipeline_health`, and the JSON of its health endpoint.

The columns are the dashboard's contract (sinks/migrations/0300_pipeline_health.sql); the
endpoint adds per-partition detail that a table row would flatten.
"""
from __future__ import annotations

from datetime import datetime

import msgspec
from clickhouse_connect.driver.client import Client


class PartitionLag(msgspec.Struct, frozen=True):
    partition: int
    committed: int   # next offset the consumer group will read (0 when it has committed nothing yet)
    end: int         # log end offset
    lag: int         # messages written to the partition and not yet committed


class HealthReading(msgspec.Struct, frozen=True):
    at: datetime
    worker: str
    events_in_per_s: float
    events_out_per_s: float
    consumer_lag: int
    oldest_unflushed_s: float
    dead_letters: int
    sink_state: str          # 'ok' | 'retrying'
    last_error: str
    broker_state: str        # 'ok' or the last error talking to Kafka
    # Endpoint only (not columns):
    partitions: list[PartitionLag] = []
    written: int = 0
    duplicates: int = 0
    forwarded: int = 0       # events sent on to their home partition (several workers, streams/core/homes.py)
    # The fault-injection switch (sinks/faults.py): seconds left, 0 when not armed; None (and absent
    # from the JSON) when the worker runs without PULSE_FAULT_INJECTION, as in production.
    outage_remaining_s: float | None = None


HEALTH_COLUMNS = ("at", "worker", "events_in_per_s", "events_out_per_s", "consumer_lag", "oldest_unflushed_s",
                  "dead_letters", "sink_state", "last_error", "broker_state")


def write_reading(client: Client, database: str, reading: HealthReading) -> None:
    client.insert(f"{database}.pipeline_health", [[getattr(reading, c) for c in HEALTH_COLUMNS]],
                  column_names=HEALTH_COLUMNS)


_encode = msgspec.json.Encoder().encode


def encode(reading: HealthReading) -> bytes:
    """The endpoint's JSON; without fault injection it says nothing about it."""
    if reading.outage_remaining_s is not None:
        return _encode(reading)
    fields = msgspec.structs.asdict(reading)
    del fields["outage_remaining_s"]
    return _encode(fields)

decode = msgspec.json.Decoder(HealthReading).decode
