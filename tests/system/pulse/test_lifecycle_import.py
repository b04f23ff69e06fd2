"""`pulse lifecycle import --from hubspot` into a running worker: lifecycle_history, funnel_counts and
funnel_conversion hold the export's people as worked out by hand (times read in PULSE_REPORTING_TZ, a
skipped stage, a move back at Last Modified Date, sources mapped), the bad row is named and dead-lettered,
and importing the same file again changes nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from conftest import ROOT, env_for, sql_rows, wait_until
from report_helpers import REFRESH_SECONDS, refreshed_after_now

ZONE = ZoneInfo("America/New_York")
TODAY = datetime.now(ZONE).date()


def hs(offset: int, clock: str) -> str:
    """A HubSpot date and time as the export writes it: no offset (the portal's time zone)."""
    return f"{(TODAY + timedelta(days=offset)).isoformat()} {clock}"


def utc(offset: int, clock: str) -> datetime:
    """The same instant as the views return it (UTC, naive)."""
    local = datetime.combine(TODAY + timedelta(days=offset), time.fromisoformat(clock), ZONE)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


def days(*spans: tuple[datetime, datetime]) -> tuple[Decimal, ...]:
    return tuple(Decimal((b - a).total_seconds() / 86400).quantize(Decimal("0.0001")) for a, b in spans)


HEADER = ('"Record ID","Email","Lifecycle Stage","Became a Lead Date","Became a Marketing Qualified Lead Date",'
          '"Became a Sales Qualified Lead Date","Became a Customer Date","Contact owner","Lead Status",'
          '"Original Source","Last Modified Date"')
ROWS = [
    ("1", "ann@acme.example", "Sales Qualified Lead", hs(-30, "09:00"), hs(-20, "09:00"), hs(-10, "21:00"), "",
     "Kim Lee", "IN_PROGRESS", "ORGANIC_SEARCH", hs(-10, "21:00")),
    ("2", "bob@beta.example", "Customer", hs(-40, "10:00"), "", "", hs(-5, "10:00"), "", "", "OFFLINE",
     hs(-5, "10:00")),
    ("3", "cat@gamma.example", "Lead", hs(-25, "12:00"), hs(-24, "00:00"), "", "", "Ana Ruiz", "OPEN",
     "Paid social", hs(-2, "08:00")),
    ("4", "nope", "Lead", "yesterday", "", "", "", "", "", "", ""),
]
EXPORT = HEADER + "\n" + "\n".join(",".join(json.dumps(c) for c in r) for r in ROWS) + "\n"


def pulse_import(settings, path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pulse.cli", "lifecycle", "import", *args, str(path)],
                          env=env_for(settings), cwd=ROOT, capture_output=True, text=True, timeout=120)


def check_views(settings) -> None:
    """Once the changes asked about are stored."""
    refreshed_after_now(settings, "funnel_counts", "funnel_conversion", "lifecycle_history", "person_lifecycle")
    history = sql_rows(settings, "SELECT person, stage, entered_at, left_at, skipped, owner, source "
                                 "FROM lifecycle_history WHERE person != 'marker@x.example' ORDER BY person, position")
    ann, bob, cat = (-30, "09:00"), (-40, "10:00"), (-25, "12:00")
    assert history == [
        ("ann@acme.example", "subscriber", utc(*ann), utc(*ann), 1, "Kim Lee", "marketing"),
        ("ann@acme.example", "lead", utc(*ann), utc(-20, "09:00"), 0, "Kim Lee", "marketing"),
        ("ann@acme.example", "mql", utc(-20, "09:00"), utc(-10, "21:00"), 0, "Kim Lee", "marketing"),
        ("ann@acme.example", "sql", utc(-10, "21:00"), None, 0, "Kim Lee", "marketing"),
        ("bob@beta.example", "subscriber", utc(*bob), utc(*bob), 1, "", "sales"),
        ("bob@beta.example", "lead", utc(*bob), utc(-5, "10:00"), 0, "", "sales"),
        *[("bob@beta.example", s, utc(-5, "10:00"), utc(-5, "10:00"), 1, "", "sales")
          for s in ("mql", "sql", "opportunity")],
        ("bob@beta.example", "customer", utc(-5, "10:00"), None, 0, "", "sales"),
        ("cat@gamma.example", "subscriber", utc(*cat), utc(*cat), 1, "Ana Ruiz", "marketing"),
        ("cat@gamma.example", "lead", utc(*cat), utc(-24, "00:00"), 0, "Ana Ruiz", "marketing"),
        ("cat@gamma.example", "mql", utc(-24, "00:00"), None, 0, "Ana Ruiz", "marketing"),  # moved back to lead
    ]
    assert sql_rows(settings, "SELECT stage FROM person_lifecycle WHERE email = 'cat@gamma.example'") == [("lead",)]
    counts = sql_rows(settings, "SELECT source, stage, reached, visitors, visit_to_lead_rate FROM funnel_counts "
                                "WHERE period = '365d' AND source != 'pulse-marker' AND stage IN ('lead', 'sql', "
                                "'customer') ORDER BY source, position")
    assert counts == [("all", "lead", 3, 0, None), ("all", "sql", 2, None, None), ("all", "customer", 1, None, None),
                      ("marketing", "lead", 2, 0, None), ("marketing", "sql", 1, None, None),
                      ("marketing", "customer", 0, None, None), ("sales", "lead", 1, 0, None),
                      ("sales", "sql", 1, None, None), ("sales", "customer", 1, None, None)]
    # lead -> mql: ann 10 days, cat 12 h (noon to midnight), bob 35 days to his customer (he skipped mql)
    spans = days((utc(*ann), utc(-20, "09:00")), (utc(*cat), utc(-24, "00:00")), (utc(*bob), utc(-5, "10:00")))
    lead_mql = sql_rows(settings, "SELECT entered, converted, conversion_rate, moved_on, avg_days, median_days "
                                  "FROM funnel_conversion WHERE period = '365d' AND source = 'all' "
                                  "AND from_stage = 'lead' AND to_stage = 'mql'")
    exact = [(utc(*ann), utc(-20, "09:00")), (utc(*cat), utc(-24, "00:00")), (utc(*bob), utc(-5, "10:00"))]
    mean = Decimal(sum((b - a).total_seconds() for a, b in exact) / 3 / 86400).quantize(Decimal("0.0001"))
    assert lead_mql == [(3, 3, Decimal("1.0000"), 3, mean, sorted(spans)[1])]
    mql_sql = sql_rows(settings, "SELECT entered, converted, moved_on, avg_days FROM funnel_conversion "
                                 "WHERE period = '365d' AND source = 'all' AND from_stage = 'mql' AND to_stage = 'sql'")
    assert mql_sql == [(3, 2, 1, days((utc(-20, "09:00"), utc(-10, "21:00")))[0])]  # bob never was an mql


def test_a_hubspot_contacts_export_lands_in_the_funnel_once(settings, start, tmp_path):
    # one partition: the marker imported last is stored after everything imported before it
    settings = settings.replace(reporting_tz="America/New_York", partitions=1, report_refresh_seconds=REFRESH_SECONDS)
    start("worker", settings)
    path = tmp_path / "hubspot-contacts.csv"
    path.write_text(EXPORT, encoding="utf-8-sig")  # HubSpot's CSV starts with a byte-order mark

    result = pulse_import(settings, path, "--from", "hubspot")
    assert result.returncode == 1, result.stderr
    assert "columns not imported: Record ID" in result.stderr
    bad = next(line for line in result.stderr.splitlines() if line.startswith(f"{path}:5: "))
    assert "Became a Lead Date: 'yesterday' is not a date" in bad and "Email: " in bad
    assert "lifecycle: 8 changes sent from 3 rows, 1 rows rejected" in result.stdout
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM lifecycle_changes") == [(8,)], 60,
               what="eight changes stored")
    check_views(settings)
    rejected = wait_until(lambda: sql_rows(settings, "SELECT source, reasons FROM rejected_events FINAL"), 60,
                          what="the bad row dead-lettered")
    assert [(s, sorted(e["field"] for e in json.loads(r))) for s, r in rejected] == [
        ("lifecycle import", ["$line", "Became a Lead Date", "Email"])]

    # the same file again, then a marker: once the marker is stored, the re-import has been taken
    assert pulse_import(settings, path, "--from", "hubspot").returncode == 1
    marker = tmp_path / "marker.csv"
    marker.write_text(f"email,stage,occurred_at,source\nmarker@x.example,other,{hs(-1, '12:00')},pulse-marker\n")
    done = pulse_import(settings, marker)
    assert done.returncode == 0 and "1 changes sent from 1 rows, 0 rows rejected" in done.stdout, done.stderr
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM person_lifecycle_live WHERE email = 'marker@x.example'")
               == [(1,)], 60, what="the marker")
    assert sql_rows(settings, "SELECT count() FROM lifecycle_changes") == [(9,)]
    check_views(settings)
