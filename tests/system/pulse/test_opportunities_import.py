"""`pulse opportunities import --from hubspot` into a running worker: the `opportunities` view holds the
export's deals exactly (times read in PULSE_REPORTING_TZ, the latest Last Modified Date wins, stage
history kept), the bad row is named and dead-lettered, and importing the same file again changes nothing."""
from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, datetime, time, timedelta, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

from conftest import ROOT, env_for, sql_rows, wait_until

ZONE = ZoneInfo("America/New_York")
TODAY = datetime.now(ZONE).date()
ACCOUNTS = "account_id,name,domains,ip_ranges,tier,target,committee_size,owner\n5501,Acme,acme.example,,1,true,,Avery\n"


def day(offset: int) -> date:
    return TODAY + timedelta(days=offset)


def hs(offset: int, clock: str) -> str:
    """A HubSpot date and time as the export writes it: no offset (the portal's time zone)."""
    return f"{day(offset).isoformat()} {clock}"


def utc(offset: int, clock: str) -> datetime:
    """The same instant as the view returns it (UTC, naive)."""
    local = datetime.combine(day(offset), time.fromisoformat(clock), ZONE)
    return local.astimezone(timezone.utc).replace(tzinfo=None)


HEADER = ('"Record ID","Deal Name","Deal Stage","Close Date","Deal owner","Amount","Create Date",'
          '"Associated Company IDs (Primary)","Deal Type","Original Traffic Source","Last Modified Date","Pipeline"')
ROWS = [
    ("9001", "Acme - Platform", "Contract sent", day(10), "Kim Lee", "10000", hs(-60, "09:15"), "5501",
     "New Business", "Organic Search", hs(-20, "10:00")),
    ("9001", "Acme - Platform", "Closed won", day(-5), "Kim Lee", "12000", hs(-60, "09:15"), "5501",
     "New Business", "Organic Search", hs(-5, "16:45")),
    ("9002", "Beta - Upsell", "Appointment scheduled", day(30), "Ana Ruiz", "4500.5", hs(-30, "11:00"), "5599",
     "Existing Business", "Offline Sources", hs(-3, "08:00")),
    ("9004", "=HYPERLINK(\"http://x.example\")", "Qualified to buy", day(9), "Kim Lee", "n/a", hs(-9, "09:00"),
     "5501", "New Business", "Direct Traffic", hs(-8, "09:00")),
    ("9003", "Acme - Add-on", "Closed lost", day(-10), "", "0", hs(-50, "13:30"), "5501", "", "Paid Search",
     hs(-10, "12:00")),
]
EXPORT = HEADER + "\n" + "\n".join(
    ",".join(json.dumps(str(c)) for c in (*r, "Sales Pipeline")) for r in ROWS) + "\n"


def pulse_import(settings, path, *args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pulse.cli", "opportunities", "import", *args, str(path)],
                          env=env_for(settings), cwd=ROOT, capture_output=True, text=True, timeout=120)


def import_accounts(settings, tmp_path) -> subprocess.CompletedProcess:
    path = tmp_path / "accounts.csv"
    path.write_text(ACCOUNTS)
    return subprocess.run([sys.executable, "-m", "pulse.cli", "accounts", "import", str(path)], env=env_for(settings),
                          cwd=ROOT, capture_output=True, text=True, timeout=60)


def opportunities(settings) -> list[tuple]:
    return sql_rows(settings, "SELECT opportunity_id, account_id, account_name, is_target, name, stage, is_closed, "
                              "is_won, amount, created_at, close_date, owner, source, type, updated_at "
                              "FROM opportunities WHERE opportunity_id != 'marker' ORDER BY opportunity_id")


def check_views(settings) -> None:
    assert opportunities(settings) == [
        ("9001", "5501", "Acme", 1, "Acme - Platform", "Closed won", 1, 1, Decimal("12000.00"), utc(-60, "09:15"),
         day(-5), "Kim Lee", "marketing", "new_business", utc(-5, "16:45")),
        ("9002", "5599", "", 0, "Beta - Upsell", "Appointment scheduled", 0, 0, Decimal("4500.50"),
         utc(-30, "11:00"), day(30), "Ana Ruiz", "Offline Sources", "expansion", utc(-3, "08:00")),
        ("9003", "5501", "Acme", 1, "Acme - Add-on", "Closed lost", 1, 0, Decimal("0.00"), utc(-50, "13:30"),
         day(-10), "", "marketing", "new_business", utc(-10, "12:00")),
    ]
    assert sql_rows(settings, "SELECT stage, entered_at, left_at FROM opportunity_stages "
                              "WHERE opportunity_id = '9001' ORDER BY entered_at") == [
        ("Contract sent", utc(-20, "10:00"), utc(-5, "16:45")), ("Closed won", utc(-5, "16:45"), None)]


def test_a_hubspot_export_lands_in_the_views_once(settings, start, tmp_path):
    # one partition: the marker imported last is stored after everything imported before it
    settings = settings.replace(reporting_tz="America/New_York", partitions=1)
    start("worker", settings)
    assert import_accounts(settings, tmp_path).returncode == 0
    path = tmp_path / "hubspot-deals.csv"
    path.write_text(EXPORT, encoding="utf-8-sig")  # HubSpot's CSV starts with a byte-order mark

    result = pulse_import(settings, path, "--from", "hubspot")
    assert result.returncode == 1, result.stderr
    assert "columns not imported: Pipeline" in result.stderr
    bad = next(line for line in result.stderr.splitlines() if line.startswith(f"{path}:5: "))
    assert "amount: 'n/a' is not an amount" in bad and "name: starts with '='" in bad
    assert "opportunities: 4 snapshots sent, 1 rejected" in result.stdout
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM opportunity_snapshots") == [(4,)], 60,
               what="four snapshots stored")
    check_views(settings)
    rejected = wait_until(lambda: sql_rows(settings, "SELECT source, reasons FROM rejected_events FINAL"), 60,
                          what="the bad row dead-lettered")
    assert [(s, sorted(e["field"] for e in json.loads(r))) for s, r in rejected] == [
        ("opportunities import", ["$line", "amount", "name"])]

    # the same file again, then a marker: once the marker is stored, the re-import has been taken
    assert pulse_import(settings, path, "--from", "hubspot").returncode == 1
    marker = tmp_path / "marker.csv"
    marker.write_text("opportunity_id,account_id,stage,amount,created_at,close_date\n"
                      f"marker,5501,Discovery,1,{day(-1).isoformat()},{day(20).isoformat()}\n")
    done = pulse_import(settings, marker)
    assert done.returncode == 0 and "1 snapshots sent, 0 rejected" in done.stdout, done.stderr
    wait_until(lambda: sql_rows(settings, "SELECT count() FROM opportunities WHERE opportunity_id = 'marker'")
               == [(1,)], 60, what="the marker")
    assert sql_rows(settings, "SELECT count() FROM opportunity_snapshots") == [(5,)]
    check_views(settings)


def test_hostile_files_are_refused_with_one_line_and_no_traceback(settings, tmp_path):
    cases = {
        "empty.csv": (b"", "the file is empty"),
        "header.csv": (HEADER.encode() + b"\n", "only a header row"),
        "twice.csv": (b"Record ID,Amount,Amount\n1,2,3\n", "'Amount' appears twice"),
        "latin1.csv": (HEADER.encode() + "\n\"1\",\"Caf\u00e9\"\n".encode("latin-1"), "--encoding"),
        "utf16.csv": (HEADER.encode("utf-16"), "not utf-8-sig"),
    }
    for name, (content, says) in cases.items():
        path = tmp_path / name
        path.write_bytes(content)
        result = pulse_import(settings, path, "--from", "hubspot", "--dry-run")
        assert result.returncode == 1 and says in result.stderr and "Traceback" not in result.stderr, (name, result)
