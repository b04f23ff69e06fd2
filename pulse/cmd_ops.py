"""Operator commands: `pulse status` and `pulse replay --from`.

Neither opens the chDB data directory (the running worker owns it): status asks the worker's
health endpoint, and Kafka when no worker answers; replay talks to Kafka only.
"""
from __future__ import annotations

import asyncio
import sys
import urllib.error
import urllib.request

from schemas.settings import Settings
from schemas import topics
from sinks.health import HealthReading, PartitionLag, decode


def register(sub) -> None:
    p = sub.add_parser("status", help="consumer lag, events/s, dead letters, ClickHouse and broker state")
    p.add_argument("--json", action="store_true", help="print the worker's health reading as JSON")
    p.set_defaults(func=cmd_status)
    p = sub.add_parser("replay", help="re-read the touches topic from a time or offset (numbers stay exact)")
    p.add_argument("--from", dest="start", required=True, metavar="TIME|OFFSET",
                   help="ISO time (2026-11-20T10:00:00+00:00), an offset on every partition, or 'earliest'")
    p.add_argument("--partition", type=int, action="append", help="only this partition (repeatable)")
    p.set_defaults(func=cmd_replay)


def health_url(settings: Settings) -> str:
    return f"http://{settings.sql_host}:{settings.health_port}/health"


def fetch_reading(settings: Settings, timeout: float = 3.0) -> HealthReading | None:
    """The worker's reading, or None when no worker answers."""
    try:
        with urllib.request.urlopen(health_url(settings), timeout=timeout) as response:
            return decode(response.read())
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return None


def format_reading(r: HealthReading) -> str:
    sink = r.sink_state if r.sink_state == "ok" else f"{r.sink_state} (consumption paused): {r.last_error}"
    lines = [
        f"worker      {r.worker}   (reading at {r.at:%Y-%m-%d %H:%M:%S} UTC)",
        f"clickhouse  {sink}",
        f"kafka       {r.broker_state}",
        f"events/s    in {r.events_in_per_s:,.1f}   out {r.events_out_per_s:,.1f}   (last 10 s)",
        f"unflushed   oldest event taken and not yet written: {r.oldest_unflushed_s:,.1f} s",
        f"dead letters {r.dead_letters:,} since the worker started (rejected_events keeps them all)",
        f"stored      {r.written:,} events written, {r.duplicates:,} duplicates skipped since start",
    ]
    if r.outage_remaining_s is not None:  # only a worker with PULSE_FAULT_INJECTION reports it
        armed = f"injected sink outage, {r.outage_remaining_s:,.0f} s left" if r.outage_remaining_s > 0 else "not armed"
        lines.append(f"fault inj.  on (test/ops only): {armed}")
    lines.append(format_lag(r.partitions, r.consumer_lag))
    return "\n".join(lines)


def format_lag(partitions: list[PartitionLag], total: int) -> str:
    rows = [f"consumer lag {total:,} messages", "  partition  committed        end        lag"]
    rows += [f"  {p.partition:>9}  {p.committed:>9}  {p.end:>9}  {p.lag:>9}" for p in partitions]
    return "\n".join(rows)


def stored_dead_letters(settings: Settings) -> str:
    """Dead letters kept in ClickHouse, by where they were refused (read through the SQL endpoint)."""
    from sinks.client import reader_client
    from sinks.store import Store

    try:
        client = reader_client(settings)
        try:
            rows = Store(client, settings.database).dead_letters_by_source()
        finally:
            client.close()
    except Exception as exc:  # status must still print when ClickHouse is the thing that is down
        return f"rejected_events  not readable: {str(exc).strip().splitlines()[0] if str(exc).strip() else exc!r}"
    by_source = ", ".join(f"{source} {n:,}" for source, n in rows) or "none"
    return f"rejected_events  {by_source}  (stored, by source)"


def cmd_status(args) -> int:
    settings = Settings.from_env()
    reading = fetch_reading(settings)
    if reading is not None:
        if args.json:
            from sinks.health import encode

            print(encode(reading).decode())
        else:
            print(format_reading(reading))
            print(stored_dead_letters(settings))
        return 0
    print(f"pulse is not running: no worker answered on {health_url(settings)}.\n"
          "Start it with `pulse up` (or `pulse worker`); if it runs elsewhere, set PULSE_SQL_HOST and "
          "PULSE_HEALTH_PORT to its address.", file=sys.stderr)
    if not settings.embedded_broker:
        # A broker that runs on its own still knows how far the consumer group got.
        from streams.health import read_lag_once

        try:
            partitions = asyncio.run(read_lag_once(settings))
            print(format_lag(partitions, sum(p.lag for p in partitions)))
        except Exception as exc:
            print(f"kafka       not reachable at {settings.bootstrap}: {exc or type(exc).__name__}", file=sys.stderr)
    return 1


def cmd_replay(args) -> int:
    from streams.replay import ReplayError, parse_start, replay

    settings = Settings.from_env()
    try:
        start = parse_start(args.start)
        result = asyncio.run(asyncio.wait_for(replay(settings, start, args.partition), 600))
    except ReplayError as exc:
        print(f"pulse replay: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:  # the broker is not there: one line, not a traceback
        print(f"pulse replay: could not replay from {settings.bootstrap}: {exc or type(exc).__name__}"
              + (" (is `pulse up` running?)" if settings.embedded_broker else ""), file=sys.stderr)
        return 1
    spans = ", ".join(f"p{p}: {a}..{b}" for p, (a, b) in sorted(result.ranges.items()))
    print(f"re-published {result.messages:,} messages of {settings.topic(topics.TOUCHES)} ({spans}); "
          "the worker skips events already stored, so numbers stay exact")
    return 0
