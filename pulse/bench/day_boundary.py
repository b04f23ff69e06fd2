"""Whether a timed section crossed midnight in the reporting zone, and what the stage job did across it.

A new reporting day makes the stage job move every account to it (streams/stages._move_day): at 100M stored
touches that work took the sixth run's pipeline and freshness sections (BENCHMARKS.md, "a sixth time: across
midnight"). A section that crossed it measured the pipeline beside that move, not its steady state: the run
reports the crossing and its ticks, and the targets judged from that section say so (pulse/bench/targets.py).
"""
from __future__ import annotations

from contextlib import contextmanager
from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from schemas.settings import Settings
from sinks.stage_marks import epoch_ms

# The stage job's ticks between two moments, by kind ('changed', 'day': a day move's slice, 'full')
TICKS_BY_KIND = """
SELECT kind, count(), max(took_ms), sum(took_ms)
FROM stage_marks
WHERE marked_at > fromUnixTimestamp64Milli(%(since_ms)s, 'UTC')
  AND marked_at <= fromUnixTimestamp64Milli(%(until_ms)s, 'UTC')
GROUP BY kind ORDER BY kind
"""


def reporting_day(at: datetime, tz: str) -> date:
    return at.astimezone(ZoneInfo(tz)).date()


def crossed(started: datetime, ended: datetime, tz: str) -> bool:
    """Pure: did a reporting day begin after `started` and by `ended`?"""
    return reporting_day(ended, tz) != reporting_day(started, tz)


def ticks_by_kind(rows) -> dict[str, dict[str, float]]:
    """TICKS_BY_KIND's rows: {kind: {ticks, longest_s, total_s}}."""
    return {kind: {"ticks": int(ticks), "longest_s": longest_ms / 1000, "total_s": total_ms / 1000}
            for kind, ticks, longest_ms, total_ms in rows}


def ticks_between(s: Settings, started: datetime, ended: datetime) -> dict[str, dict[str, float]]:
    """The stage job's ticks between two moments, read as stage_latency.evaluations_since reads its marks."""
    from sinks.client import reader_client

    client = reader_client(s)
    try:
        rows = client.query(TICKS_BY_KIND, parameters={"since_ms": epoch_ms(started), "until_ms": epoch_ms(ended)})
        return ticks_by_kind(rows.result_rows)
    finally:
        client.close()


@contextmanager
def watched(report, section: str, s: Settings):
    """Run a section on the live worker; if it crossed the reporting day's midnight, add that to its results with
    the stage job's ticks meanwhile (kind 'day': the new day's move, a slice a tick)."""
    started = datetime.now(timezone.utc)
    yield
    ended = datetime.now(timezone.utc)
    if crossed(started, ended, s.reporting_tz):
        report.add(section, crossed_midnight=reporting_day(ended, s.reporting_tz).isoformat(),
                   stage_ticks_across_midnight=ticks_between(s, started, ended))
