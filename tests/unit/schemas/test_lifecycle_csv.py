"""`pulse lifecycle import`: the HubSpot and Salesforce presets on exports written as those tools write
them (byte-order mark, quoted headers, the portal's or the user's locale dates, a report footer), the
stage, status and source mappings as tables, every problem of a bad row at once, ids stable across
re-imports, stage dates older than the retention left out, and files refused whole."""
from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from schemas.lifecycle_csv import Options, read
from schemas.lifecycle_presets import hubspot_stage, salesforce_stage, source_of
from schemas.opportunity_csv import ImportRefused

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc)
NEW_YORK = ZoneInfo("America/New_York")
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "evangelist", "other")


def load(text: str, preset: str = "pulse", **changes):
    base = dict(preset=preset, tz=NEW_YORK, now=NOW, max_age=timedelta(days=390), stages=STAGES)
    ignored, rows = read(io.StringIO(text, newline=""), Options(**{**base, **changes}))
    return ignored, list(rows)


def ny(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=NEW_YORK).astimezone(timezone.utc)


def changes(row) -> list[tuple]:
    return [(e.stage, e.occurred_at.astimezone(timezone.utc), e.source or "", e.owner or "", e.lead_status or "",
             e.account_id or "") for e in sorted(row.events, key=lambda e: (e.occurred_at, e.stage))]


# A HubSpot contacts export (CSV, as the export e-mail's file): byte-order mark, every cell quoted, times
# as the portal shows them (no offset: PULSE_REPORTING_TZ), Original Source by label or internal value.
HUBSPOT = '''\ufeff"Record ID","First Name","Last Name","Email","Lifecycle Stage","Became a Subscriber Date","Became a Lead Date","Became a Marketing Qualified Lead Date","Became a Sales Qualified Lead Date","Became an Opportunity Date","Became a Customer Date","Became an Evangelist Date","Contact owner","Lead Status","Original Source","Associated Company IDs (Primary)","Last Modified Date"
"51","Ann","Lee","Ann@Acme.example","Sales Qualified Lead","","2026-11-02 09:15","2026-11-10 14:00","2026-11-20 08:30","","","","Kim Lee","IN_PROGRESS","Organic search","5501","2026-11-20 08:31"
"52","Bob","Ray","bob@beta.example","Customer","","2026-10-01 10:00","","","","2026-11-15 16:45","","","","OFFLINE","","2026-11-15 16:45"
"53","Cat","Wu","cat@gamma.example","Lead","","2026-09-01 08:00","2026-09-20 08:00","","","","","Ana Ruiz","Open","PAID_SOCIAL","","2026-11-25 11:00"
"54","Dan","Oz","dan@delta.example","Subscriber","2026-11-29 07:00","","","","","","","","","Something new","",""
"55","Eve","=cmd","not-an-email","Lead","","31/11/2026","","","","","","=HYPERLINK(""x"")","","Referrals","",""
"56","Fay","Ng","fay@x.example","Lead","","","","","","","","","","","",""
'''


def test_hubspot_contacts_export_one_change_per_date_column():
    ignored, rows = load(HUBSPOT, "hubspot")
    assert ignored == ["Record ID", "First Name", "Last Name"]
    by_line = {r.line: r for r in rows}
    assert changes(by_line[2]) == [
        ("lead", ny("2026-11-02T09:15"), "marketing", "Kim Lee", "IN_PROGRESS", "5501"),
        ("mql", ny("2026-11-10T14:00"), "marketing", "Kim Lee", "IN_PROGRESS", "5501"),
        ("sql", ny("2026-11-20T08:30"), "marketing", "Kim Lee", "IN_PROGRESS", "5501")]
    assert {e.email for e in by_line[2].events} == {"ann@acme.example"}
    # skipped stages stay skipped (the views reach them); OFFLINE (imports, reps' own records) is sales
    assert changes(by_line[3]) == [("lead", ny("2026-10-01T10:00"), "sales", "", "", ""),
                                   ("customer", ny("2026-11-15T16:45"), "sales", "", "", "")]
    # moved back to Lead: its own date is the first time (before mql), so the move back is at Last Modified Date
    assert [c[:2] for c in changes(by_line[4])] == [("lead", ny("2026-09-01T08:00")), ("mql", ny("2026-09-20T08:00")),
                                                   ("lead", ny("2026-11-25T11:00"))]
    assert changes(by_line[5]) == [("subscriber", ny("2026-11-29T07:00"), "other", "", "", "")]
    problems = dict(by_line[6].problems)  # every problem of the row at once, by the file's column
    assert by_line[6].events == [] and sorted(problems) == ["Became a Lead Date", "Contact owner", "Email"]
    assert problems["Became a Lead Date"] == "'31/11/2026' is not a date (a day-first export? use --day-first)"
    assert problems["Contact owner"] == "starts with '=': looks like a spreadsheet formula, refused (CSV injection)"
    assert by_line[7].problems == [("$", "no lifecycle date in the row: nothing to import")]


def test_hubspot_move_back_without_its_own_date_is_taken_at_last_modified():
    text = ('"Email","Lifecycle Stage","Became a Lead Date","Became a Customer Date","Last Modified Date"\n'
            '"ann@acme.example","Lead","","2026-11-01 10:00","2026-11-20 09:00"\n'
            '"bob@beta.example","Partner","2026-11-01 10:00","",""\n')
    _, rows = load(text, "hubspot")
    assert [c[:2] for c in changes(rows[0])] == [("customer", ny("2026-11-01T10:00")), ("lead", ny("2026-11-20T09:00"))]
    assert rows[1].problems == [("Lifecycle Stage", "'Partner' is not a lifecycle stage of PULSE_LIFECYCLE_STAGES "
                                                    "(add a custom stage there, lower-case)")]
    _, rows = load(text, "hubspot", stages=(*STAGES[:-1], "partner", "other"))
    assert rows[1].problems == [] and [e.stage for e in rows[1].events] == ["lead"]  # no date to put it at


# A Salesforce lead report, Export > Details Only > CSV: quoted cells, the user's US-locale date-times,
# Converted Date a date, a custom "MQL Date" field, and the report's footer after a blank line.
SALESFORCE = '''"Lead Owner","First Name","Last Name","Company / Account","Email","Lead Source","Lead Status","Created Date","MQL Date","Converted Date","Last Modified Date"
"Kim Lee","Ann","Lee","Acme","ann@acme.example","Web","Closed - Converted","11/2/2026, 9:15 AM","11/10/2026, 2:00 PM","11/20/2026","11/20/2026, 4:00 PM"
"Ana Ruiz","Bob","Ray","Beta","bob@beta.example","Partner Referral","Working - Contacted","11/3/2026, 10:00 AM","","","11/4/2026, 8:00 AM"
"Ana Ruiz","Cat","Wu","Gamma","cat@gamma.example","Cold Call","Sales Qualified","11/5/2026, 10:00 AM","","","11/25/2026, 11:30 AM"
"Kim Lee","Dan","Oz","Delta","dan@delta.example","Word of mouth","Closed - Converted","11/28/2026, 3:00 PM","","11/28/2026","11/28/2026, 3:05 PM"
"Kim Lee","Eve","Ng","Eps","eve@eps.example","Web","Open - Not Contacted","13/45/2026","","",""

"Lead Report"
"Copyright (c) 2000-2026 salesforce.com, inc. All rights reserved."
"Generated By:  Kim Lee  11/30/2026, 7:00 AM"
'''


def test_salesforce_lead_report_statuses_and_dates():
    ignored, rows = load(SALESFORCE, "salesforce")
    assert ignored == ["First Name", "Last Name", "Company / Account"]
    assert [r.line for r in rows] == [2, 3, 4, 5, 6]  # the footer is no row
    ann, bob, cat, dan, eve = rows
    assert changes(ann) == [
        ("lead", ny("2026-11-02T09:15"), "marketing", "Kim Lee", "Closed - Converted", ""),
        ("mql", ny("2026-11-10T14:00"), "marketing", "Kim Lee", "Closed - Converted", ""),
        ("opportunity", ny("2026-11-20T00:00"), "marketing", "Kim Lee", "Closed - Converted", "")]
    assert changes(bob) == [("lead", ny("2026-11-03T10:00"), "partner", "Ana Ruiz", "Working - Contacted", "")]
    # a qualifying status without its own date column: at Last Modified Date
    assert [c[:3] for c in changes(cat)] == [("lead", ny("2026-11-05T10:00"), "sales"),
                                            ("sql", ny("2026-11-25T11:30"), "sales")]
    # Converted Date is a date: its midnight is before the lead was created that afternoon, so Created Date
    assert [c[:3] for c in changes(dan)] == [("lead", ny("2026-11-28T15:00"), "other"),
                                            ("opportunity", ny("2026-11-28T15:00"), "other")]
    assert eve.events == [] and [f for f, _ in eve.problems] == ["Created Date"]


def test_plain_format_one_change_a_row_and_every_problem_at_once():
    text = ("email,stage,occurred_at,owner,lead_status,source\n"
            "ann@acme.example,mql,2026-11-10T14:00:00Z,kim,new,marketing\n"
            "bob@beta.example,champion,2026-12-30T10:00:00Z,,,\n"
            ",lead,,,,\n")
    _, rows = load(text)
    assert changes(rows[0]) == [("mql", datetime(2026, 11, 10, 14, tzinfo=timezone.utc), "marketing", "kim", "new", "")]
    assert sorted(f for f, _ in rows[1].problems) == ["occurred_at", "stage"]  # not a stage, and in the future
    assert sorted(f for f, _ in rows[2].problems) == ["email", "occurred_at"]


@pytest.mark.parametrize("preset, label, source", [
    ("hubspot", "ORGANIC_SEARCH", "marketing"), ("hubspot", "Organic search", "marketing"),
    ("hubspot", "PAID_SEARCH", "marketing"), ("hubspot", "EMAIL_MARKETING", "marketing"),
    ("hubspot", "SOCIAL_MEDIA", "marketing"), ("hubspot", "Organic social", "marketing"),
    ("hubspot", "PAID_SOCIAL", "marketing"), ("hubspot", "REFERRALS", "marketing"),
    ("hubspot", "OTHER_CAMPAIGNS", "marketing"), ("hubspot", "DIRECT_TRAFFIC", "marketing"),
    ("hubspot", "OFFLINE", "sales"), ("hubspot", "Offline sources", "sales"), ("hubspot", "Chat", "other"),
    ("salesforce", "Web", "marketing"), ("salesforce", "Trade Show", "marketing"),
    ("salesforce", "Seminar - Internal", "marketing"), ("salesforce", "Phone Inquiry", "marketing"),
    ("salesforce", "Purchased List", "marketing"), ("salesforce", "Partner Referral", "partner"),
    ("salesforce", "Seminar - Partner", "partner"), ("salesforce", "Employee Referral", "sales"),
    ("salesforce", "Cold Call", "sales"), ("salesforce", "Other", "other"), ("pulse", "partner", "partner"),
])
def test_source_mapping(preset, label, source):
    assert source_of(label, preset) == source


@pytest.mark.parametrize("label, stage", [
    ("Subscriber", "subscriber"), ("Lead", "lead"), ("Marketing Qualified Lead", "mql"),
    ("marketingqualifiedlead", "mql"), ("Sales Qualified Lead", "sql"), ("salesqualifiedlead", "sql"),
    ("Opportunity", "opportunity"), ("Customer", "customer"), ("Evangelist", "evangelist"), ("Other", "other"),
    ("Partner", None),
])
def test_hubspot_stage_labels(label, stage):
    assert hubspot_stage(label, STAGES) == stage


@pytest.mark.parametrize("status, stage", [
    ("Open - Not Contacted", "lead"), ("Working - Contacted", "lead"), ("Closed - Not Converted", "lead"),
    ("Nurturing", "lead"), ("Qualified", "mql"), ("MQL", "mql"), ("Marketing Qualified", "mql"),
    ("Sales Accepted", "sql"), ("SQL", "sql"), ("Closed - Converted", "opportunity"), ("", "lead"),
])
def test_salesforce_status_stages(status, stage):
    assert salesforce_stage(status) == stage


def test_re_import_gives_the_same_ids_even_when_owner_and_status_moved_on():
    _, first = load(HUBSPOT, "hubspot")
    later = HUBSPOT.replace('"Kim Lee","IN_PROGRESS"', '"Sam Roe","CONNECTED"')
    _, again = load(later, "hubspot", now=NOW + timedelta(days=1))
    assert [e.event_id for r in first for e in r.events] == [e.event_id for r in again for e in r.events]
    assert len({e.event_id for r in first for e in r.events}) == 9


def test_stage_dates_older_than_the_retention_are_left_out_and_counted():
    text = '"Email","Became a Lead Date","Became a Customer Date"\n"ann@acme.example","2024-01-05 10:00","2026-11-01 10:00"\n'
    _, rows = load(text, "hubspot")
    assert rows[0].too_old == 1 and rows[0].problems == [] and [e.stage for e in rows[0].events] == ["customer"]


@pytest.mark.parametrize("preset, header, message", [
    ("hubspot", '"Email","Email","Became a Lead Date"', "the column 'Email' appears twice"),
    ("hubspot", '"First Name","Became a Lead Date"', "lacks the columns for email ('Email')"),
    ("hubspot", '"Email","Lifecycle Stage"', "no lifecycle date column"),
    ("salesforce", '"Email","Lead Status"', "lacks the columns for created ('Created Date' or 'Create Date')"),
    ("pulse", '"Email","Became a Lead Date"', "use --from hubspot|salesforce"),
    ("pulse", "", "the file is empty"),
])
def test_files_that_cannot_be_read_are_refused_whole(preset, header, message):
    with pytest.raises(ImportRefused, match=message.replace("(", r"\(").replace(")", r"\)").replace("|", r"\|")):
        load(header + "\n", preset)
