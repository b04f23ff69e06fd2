"""Lifecycle history from CSV for `pulse lifecycle import`: the contract's own columns (one change a row),
or a HubSpot contacts export / Salesforce lead or contact report (one change per stage date of a row)
mapped by schemas/lifecycle_presets.py. Pure: text and time in, (line, events | problems) out.

Every problem of a row is named at once, by the file's column; a row with any problem loads nothing.
A preset's change has an id from (email, stage, instant), so re-importing an export (even one whose
owner or status moved on since) changes nothing stored; the first import of a change wins.
"""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Iterable, Iterator

from schemas.event_ids import derive_id_from
from schemas.lifecycle_presets import FIELDS, STAGE_DATES, hubspot_stage, salesforce_stage, source_of
from schemas.opportunity_cells import CellError, parse_instant, parse_text
from schemas.opportunity_csv import MAX_CELL, ImportRefused, _norm, open_export
from schemas.validate import Accepted, validate

PLAIN = ("email", "stage", "occurred_at", "owner", "lead_status", "source", "account_id", "event_id")
FUTURE = timedelta(minutes=5)  # as the contract allows


@dataclass(frozen=True)
class Options:
    preset: str                   # "pulse" (the contract's names), "hubspot" or "salesforce"
    tz: tzinfo                    # PULSE_REPORTING_TZ: times written without an offset are read in it
    now: datetime
    max_age: timedelta            # settings.max_event_age: older stage dates are left out (counted, not errors)
    stages: tuple[str, ...]       # PULSE_LIFECYCLE_STAGES
    day_first: bool = False


@dataclass
class Row:
    line: int
    events: list = field(default_factory=list)                       # validated LifecycleChange events
    problems: list[tuple[str, str]] = field(default_factory=list)    # (column, reason)
    too_old: int = 0                                                 # stage dates older than the retention
    cells: dict[str, str] = field(default_factory=dict)              # of a rejected row, each cut to 200


@dataclass(frozen=True)
class Layout:
    fields: dict[str, int]        # contract field (or current / modified / created) -> column position
    dates: dict[str, int]         # stage -> its date column's position
    names: list[str]              # the header as written


def layout_for(header: list[str], preset: str) -> tuple[Layout, list[str]]:
    """(where each thing is, ignored columns); ImportRefused when the header cannot work."""
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if name and _norm(name) in seen:
            raise ImportRefused(f"the column {name!r} appears twice (columns {seen[_norm(name)]} and {position}): "
                                "which one holds the value is ambiguous; remove one")
        seen[_norm(name)] = position
    by_norm = {_norm(n): i for i, n in enumerate(names) if n}

    def find(candidates: tuple[str, ...]) -> int | None:
        return next((by_norm[_norm(c)] for c in candidates if _norm(c) in by_norm), None)

    wanted = FIELDS[preset]
    fields = {f: find((*wanted.get(f, ()), f)) for f in (*PLAIN, *wanted)}
    fields = {f: i for f, i in fields.items() if i is not None and (preset == "pulse" or f not in ("stage", "event_id"))}
    dates = {s: i for s, cols in STAGE_DATES[preset].items() if (i := find(cols)) is not None}
    required = {"pulse": ("email", "stage", "occurred_at"), "hubspot": ("email",),
                "salesforce": ("email", "created")}[preset]
    missing = [f for f in required if f not in fields]
    if missing:
        told = ", ".join(f"{f} ({' or '.join(repr(c) for c in wanted.get(f, (f,)))})" for f in missing)
        hint = " (a HubSpot or Salesforce export? use --from hubspot|salesforce)" if preset == "pulse" else ""
        raise ImportRefused(f"the header lacks the columns for {told}{hint}")
    if preset == "hubspot" and not dates:
        raise ImportRefused("the header has no lifecycle date column (" + ", ".join(
            repr(c[0]) for c in STAGE_DATES["hubspot"].values()) + "): add them to the export")
    used = {*fields.values(), *dates.values()}
    return Layout(fields, dates, names), [n for i, n in enumerate(names) if n and i not in used]


def read(lines: Iterable[str], options: Options) -> tuple[list[str], Iterator[Row]]:
    """(ignored columns, rows); ImportRefused for a file that cannot be read at all."""
    reader, header = open_export(lines, "one row per person (or change)")
    layout, ignored = layout_for(header, options.preset)
    return ignored, _rows(reader, len(header), layout, options)


def _rows(reader, width: int, layout: Layout, options: Options) -> Iterator[Row]:
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells) or (options.preset == "salesforce" and len(cells) == 1 < width):
                continue  # blank lines; a Salesforce report's footer ("Copyright ...", "Generated By: ...")
            if len(cells) > width:
                yield Row(line, problems=[("$", f"{len(cells)} cells, the header has {width} columns")])
                continue
            row = convert(line, cells, layout, options)
            if row.problems:
                row.cells = {layout.names[i]: cells[i][:200] for i in range(len(cells)) if layout.names[i]}
            yield row
    except csv.Error as exc:
        yield Row(reader.line_num, problems=[("$", f"not valid CSV: {exc}; the rest of the file was not read")])
    except UnicodeDecodeError as exc:
        yield Row(reader.line_num + 1, problems=[("$", f"not text in the file's encoding ({exc.reason}); the rest "
                                                  "of the file was not read: save it as UTF-8 or name its "
                                                  "encoding with --encoding")])


class _Cells:
    """The cells of one row by what they mean, with every problem collected under its column's name."""

    def __init__(self, cells: list[str], layout: Layout, options: Options):
        self.cells, self.layout, self.options = cells, layout, options
        self.problems: list[tuple[str, str]] = []

    def column(self, position: int) -> str:
        return self.layout.names[position]

    def raw(self, position: int | None) -> str:
        if position is None or position >= len(self.cells):
            return ""
        text = self.cells[position].strip()
        if len(text) > MAX_CELL:
            self.problems.append((self.column(position), f"{len(text)} characters: longer than any field takes"))
            return ""
        return text

    def text(self, name: str) -> str:
        position = self.layout.fields.get(name)
        try:
            return parse_text(self.raw(position))
        except CellError as exc:
            self.problems.append((self.column(position), str(exc)))
            return ""

    def instant(self, position: int | None) -> tuple[datetime, bool] | None:
        """(instant, whether the cell gave only a date) or None for an empty or bad cell."""
        text = self.raw(position)
        if not text:
            return None
        try:
            return parse_instant(text, self.options.tz, self.options.day_first), ":" not in text
        except CellError as exc:
            self.problems.append((self.column(position), str(exc)))
            return None


def convert(line: int, cells: list[str], layout: Layout, options: Options) -> Row:
    """One row: its changes, each validated as pulse send and the worker validate it."""
    c = _Cells(cells, layout, options)
    common = {"type": "lifecycle_change", "email": c.text("email")}
    if not common["email"] and not c.problems:
        c.problems.append((c.column(layout.fields["email"]), "required"))
    for name in ("owner", "lead_status", "account_id"):
        if value := c.text(name):
            common[name] = value
    if source := c.text("source"):
        common["source"] = source_of(source, options.preset)
    dated = {"pulse": _plain, "hubspot": _hubspot, "salesforce": _salesforce}[options.preset](c)
    row = Row(line)
    # the person's own fields judged once, even when no date of the row is good enough to carry them
    probe = (options.stages[0], options.now, -1)
    for stage, at, position in [probe, *dated]:
        if at < options.now - options.max_age:
            row.too_old += 1
            continue
        if at > options.now + FUTURE:  # named here by its column; the change's other fields still judged
            c.problems.append((c.column(position), f"{at.isoformat()} is in the future"))
            at = options.now
        item = {**common, "stage": stage, "occurred_at": at.isoformat()}
        if options.preset != "pulse":
            item["event_id"] = str(derive_id_from("lifecycle import", common["email"], stage,
                                                  at.astimezone(timezone.utc).isoformat()))
        elif event_id := c.raw(layout.fields.get("event_id")):
            item["event_id"] = event_id
        result = validate(item, now=options.now, max_age=options.max_age, stages=options.stages)
        if isinstance(result, Accepted):
            if position >= 0:
                row.events.append(result.event)
            continue
        for reason in result.reasons():  # named by the file's column that gave the field
            name = reason["field"]
            if (position < 0 and name in ("stage", "occurred_at", "event_id")) or (
                    name in ("$", "email") and not common["email"]):  # said once above: the email is required
                continue
            where = layout.fields.get(name, position if name in ("stage", "occurred_at") else None)
            problem = (name if where is None else c.column(where), reason["reason"])
            if problem not in c.problems:
                c.problems.append(problem)
    if not dated and not c.problems and options.preset == "hubspot":
        c.problems.append(("$", "no lifecycle date in the row: nothing to import"))
    row.problems = c.problems
    if row.problems:
        row.events = []
    return row


def _plain(c: _Cells) -> list[tuple[str, datetime, int]]:
    fields = c.layout.fields
    stage, at = c.raw(fields["stage"]), c.instant(fields["occurred_at"])
    if not stage:
        c.problems.append((c.column(fields["stage"]), "required"))
    if at is None and not c.raw(fields["occurred_at"]):
        c.problems.append((c.column(fields["occurred_at"]), "required"))
    return [(stage, at[0], fields["occurred_at"])] if stage and at else []


def _hubspot(c: _Cells) -> list[tuple[str, datetime, int]]:
    """One change per non-empty date column; the current Lifecycle Stage adds one at Last Modified Date when
    its own date is empty (a stage without a date column) or it is before the furthest dated stage (a move
    back: HubSpot keeps a stage's first Became-a date, so the move back has no date of its own)."""
    out = [(stage, got[0], position) for stage, position in c.layout.dates.items()
           if (got := c.instant(position)) is not None]
    label = c.raw(c.layout.fields.get("current"))
    if not label:
        return out
    stage = hubspot_stage(label, c.options.stages)
    if stage is None:
        c.problems.append((c.column(c.layout.fields["current"]), f"{label[:40]!r} is not a lifecycle stage of "
                           "PULSE_LIFECYCLE_STAGES (add a custom stage there, lower-case)"))
        return out
    modified = c.instant(c.layout.fields.get("modified"))
    order = [s for s in c.options.stages if s != "other"]
    furthest = max((order.index(s) for s, _, _ in out if s in order), default=-1)
    moved_back = stage in order and order.index(stage) < furthest  # HubSpot keeps the first Became-a date
    if modified is not None and (stage not in {s for s, _, _ in out} or moved_back):
        out.append((stage, modified[0], c.layout.fields["modified"]))
    return out


def _salesforce(c: _Cells) -> list[tuple[str, datetime, int]]:
    """A lead at Created Date; MQL / SQL / Converted Date columns when present; a qualifying Lead Status
    without its own date at Last Modified Date, else Created Date. A date-only cell before Created Date
    (Converted Date is a date) is taken as Created Date: the same day, never before the lead existed."""
    fields = c.layout.fields
    created = c.instant(fields["created"])
    if created is None:
        if not c.raw(fields["created"]):
            c.problems.append((c.column(fields["created"]), "required"))
        return []
    out = [("lead", created[0], fields["created"])]
    for stage, position in c.layout.dates.items():
        got = c.instant(position)
        if got is not None:
            out.append((stage, max(got[0], created[0]) if got[1] else got[0], position))
    status_stage = salesforce_stage(c.raw(fields.get("lead_status")))
    if status_stage not in {s for s, _, _ in out}:
        modified = c.instant(fields.get("modified"))
        at, position = (modified[0], fields["modified"]) if modified else (created[0], fields["created"])
        out.append((status_stage, at, position))
    return out
