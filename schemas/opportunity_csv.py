"""Opportunity history from CSV for `pulse opportunities import`: the contract's own columns, or a
HubSpot deals export / Salesforce opportunity report mapped by a preset. Pure: text and time in,
(line, event | problems) out; the CLI produces the events.

Each row is converted cell by cell (every problem of the row named at once, by contract field and
the file's column), then validated exactly as `pulse send` and the worker validate it.
"""
from __future__ import annotations

import csv
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from typing import Iterable, Iterator

import msgspec

from schemas.event_ids import derive_id_from
from schemas.opportunity_cells import (CellError, parse_amount, parse_bool, parse_day, parse_instant,
                                       parse_probability, parse_text, source_of, type_of)
from schemas.validate import Accepted, validate

# contract field -> the column names that fill it, first present wins (compared case-insensitively)
PRESETS: dict[str, dict[str, tuple[str, ...]]] = {
    "hubspot": {
        "opportunity_id": ("Record ID", "Deal ID"),
        "name": ("Deal Name",),
        "stage": ("Deal Stage",),
        "amount": ("Amount",),
        "created_at": ("Create Date",),
        "close_date": ("Close Date",),
        "account_id": ("Associated Company IDs (Primary)", "Associated Company ID"),
        "owner": ("Deal owner",),
        "opportunity_type": ("Deal Type",),
        "source": ("Original Traffic Source",),
        "probability": ("Deal probability",),
        "currency": ("Currency", "Deal currency code"),
        "is_closed": ("Is Closed",),
        "is_won": ("Is Closed Won",),
        "occurred_at": ("Last Modified Date",),
    },
    "salesforce": {
        "opportunity_id": ("Opportunity ID",),
        "name": ("Opportunity Name",),
        "stage": ("Stage",),
        "amount": ("Amount",),
        "created_at": ("Created Date",),
        "close_date": ("Close Date",),
        "account_id": ("Account ID",),
        "owner": ("Opportunity Owner",),
        "opportunity_type": ("Type",),
        "source": ("Lead Source",),
        "is_closed": ("Closed",),
        "is_won": ("Won",),
        "program_id": ("Primary Campaign Source",),
        "probability": ("Probability (%)",),
        "currency": ("Opportunity Currency", "Amount Currency"),
        "occurred_at": ("Last Modified Date",),
    },
}
FIELDS = ("opportunity_id", "account_id", "stage", "is_closed", "is_won", "amount", "created_at", "close_date",
          "name", "owner", "source", "opportunity_type", "program_id", "probability", "currency", "occurred_at",
          "event_id")
REQUIRED = ("opportunity_id", "account_id", "stage", "amount", "created_at", "close_date")
# The closing stages HubSpot's and Salesforce's default pipelines ship, compared without case or punctuation.
WON_STAGES = ("closedwon", "Closed Won")
LOST_STAGES = ("closedlost", "Closed Lost")
MAX_CELL = 10_000  # longer cells are refused before any parsing (the contract's own limits are far lower)


class ImportRefused(ValueError):
    """The file as a whole cannot be read (no header, duplicate or missing columns): nothing is imported."""


@dataclass(frozen=True)
class Options:
    preset: str                   # "pulse" (the contract's names), "hubspot" or "salesforce"
    tz: tzinfo                    # PULSE_REPORTING_TZ: times written without an offset are read in it
    now: datetime                 # the import's time: occurred_at of rows without one
    max_age: timedelta            # settings.max_event_age, as for pulse send and the worker
    currency: str                 # PULSE_CURRENCY
    day_first: bool = False       # 5/3/2024 is 5 March (en_GB and most locales) instead of May 3 (en_US)
    won_stages: tuple[str, ...] = ()
    lost_stages: tuple[str, ...] = ()


@dataclass
class Row:
    line: int
    event: object | None = None                              # the validated Opportunity
    problems: list[tuple[str, str]] = field(default_factory=list)  # (field, reason)
    cells: dict[str, str] = field(default_factory=dict)            # of a rejected row, each cut to 200 characters


def stage_key(stage: str) -> str:
    return re.sub(r"[^0-9a-z]", "", stage.casefold())


def _norm(name: str) -> str:
    return " ".join(name.split()).casefold()


def columns_for(header: list[str], preset: str) -> tuple[dict[str, int], list[str]]:
    """(contract field -> its column's position, ignored columns); ImportRefused when the header cannot work."""
    names = [h.strip() for h in header]
    seen: dict[str, int] = {}
    for position, name in enumerate(names, start=1):
        if not name:
            continue
        if _norm(name) in seen:
            raise ImportRefused(f"the column {name!r} appears twice (columns {seen[_norm(name)]} and {position}): "
                                "which one holds the value is ambiguous; remove one")
        seen[_norm(name)] = position
    by_norm = {_norm(n): i for i, n in enumerate(names) if n}
    wanted = PRESETS.get(preset, {})
    mapping = {}
    for name in FIELDS:
        if name == "event_id" and preset != "pulse":
            continue
        for candidate in (*wanted.get(name, ()), name):  # a preset takes the contract's own name too
            if _norm(candidate) in by_norm:
                mapping[name] = by_norm[_norm(candidate)]
                break
    missing = [n for n in REQUIRED if n not in mapping]
    if missing:
        told = ", ".join(f"{n} ({' or '.join(repr(c) for c in wanted.get(n, (n,)))})" for n in missing)
        hint = "" if preset != "pulse" else " (a HubSpot or Salesforce export? use --from hubspot|salesforce)"
        raise ImportRefused(f"the header lacks the columns for {told}{hint}")
    used = set(mapping.values())
    return mapping, [n for i, n in enumerate(names) if n and i not in used]


def read(lines: Iterable[str], options: Options) -> tuple[list[str], Iterator[Row]]:
    """(ignored columns, rows); ImportRefused for a file that cannot be read at all."""
    reader, header = open_export(lines, "one row per snapshot")
    positions, ignored = columns_for(header, options.preset)
    return ignored, _rows(reader, len(header), positions, options)


def open_export(lines: Iterable[str], rows_are: str) -> tuple:
    """(csv reader after the header, the header) of a CRM export; ImportRefused without a header row.
    Shared with schemas/lifecycle_csv.py."""
    reader = csv.reader(_without_bom(lines))
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise ImportRefused(f"line 1: not valid CSV: {exc}") from None
    if header is None or not any(h.strip() for h in header):
        raise ImportRefused(f"the file is empty: expected a header row, then {rows_are}")
    return reader, header


def _without_bom(lines: Iterable[str]) -> Iterator[str]:
    """A byte-order mark read as text (a UTF-8 export opened with --encoding utf-8) is not part of the header."""
    first = True
    for line in lines:
        yield line.lstrip("\ufeff") if first else line
        first = False


def _rows(reader, width: int, positions: dict[str, int], options: Options) -> Iterator[Row]:
    first_line: dict[str, int] = {}
    try:
        for cells in reader:
            line = reader.line_num
            if not any(c.strip() for c in cells) or (options.preset == "salesforce" and len(cells) == 1 < width):
                continue  # blank lines; a Salesforce report's footer ("Copyright ...", "Generated By: ...")
            if len(cells) > width:
                yield Row(line, problems=[("$", f"{len(cells)} cells, the header has {width} columns")])
                continue
            row = {f: cells[i] for f, i in positions.items() if i < len(cells)}
            result = convert(line, row, options)
            if result.event is not None and "occurred_at" not in positions:
                # Without a time of change every row is "the opportunity now": two of one opportunity conflict.
                key = result.event.opportunity_id
                if key in first_line:
                    again = (f"{key!r} is also on line {first_line[key]}; a file of history needs an "
                             "occurred_at (Last Modified Date) column")
                    result = Row(line, problems=[("opportunity_id", again)])
                else:
                    first_line[key] = line
            if result.event is None:
                result.cells = {f: v[:200] for f, v in row.items()}
            yield result
    except csv.Error as exc:
        yield Row(reader.line_num, problems=[("$", f"not valid CSV: {exc}; the rest of the file was not read")])
    except UnicodeDecodeError as exc:
        yield Row(reader.line_num + 1, problems=[("$", f"not text in the file's encoding ({exc.reason} at byte "
                                                  f"{exc.start} of a block); the rest of the file was not read: "
                                                  "save it as UTF-8 or name its encoding with --encoding")])


def convert(line: int, row: dict[str, str], options: Options) -> Row:
    """One row: every cell converted, then the contract's validation; all problems at once."""
    value: dict[str, object] = {"type": "opportunity"}
    problems: list[tuple[str, str]] = []
    for name, raw in row.items():
        try:
            if len(raw) > MAX_CELL:
                raise CellError(f"{len(raw)} characters: longer than any field takes")
            cell = _cell(name, raw.strip(), options)
        except CellError as exc:
            problems.append((name, str(exc)))
            continue
        if isinstance(cell, tuple):  # an amount written with its currency
            cell, written_currency = cell
            if written_currency and not row.get("currency", "").strip():
                value["currency"] = written_currency
        if cell is not None:
            value[name] = cell
    if options.preset != "pulse" and not row.get("amount", "x").strip():
        value["amount"] = "0"  # a deal without an amount: the CRMs' own reports count it as 0
    _derive_flags(value, options)
    imported = "occurred_at" not in value
    if imported:
        value["occurred_at"] = options.now.isoformat()
        if "event_id" not in value:  # the same row imported again is the same snapshot, whatever the clock says
            content = msgspec.json.encode({k: v for k, v in value.items() if k != "occurred_at"}, order="sorted")
            value["event_id"] = str(derive_id_from("opportunity import", content.decode()))
    result = validate(value, now=options.now, max_age=options.max_age, currency=options.currency)
    if isinstance(result, Accepted) and not problems:
        return Row(line, event=result.event)
    named = {f for f, _ in problems}
    if not isinstance(result, Accepted):
        problems += [(r["field"], r["reason"]) for r in result.reasons() if r["field"] not in named]
    return Row(line, problems=problems)


def _cell(name: str, text: str, options: Options) -> object:
    if not text:
        return None
    preset = options.preset
    if name == "amount":
        amount, currency = parse_amount(text)
        return str(amount), currency
    if name in ("created_at", "occurred_at"):
        return parse_instant(text, options.tz, options.day_first).isoformat()
    if name == "close_date":
        return parse_day(text, options.day_first).isoformat()
    if name in ("is_closed", "is_won"):
        return parse_bool(text)
    if name == "probability":
        return parse_probability(text, fraction=preset == "hubspot")
    if name == "opportunity_type":
        return type_of(text)
    if name == "currency":
        return text.upper()
    if name == "event_id":
        try:
            return str(uuid.UUID(text))
        except ValueError:
            raise CellError("not a UUID") from None
    text = parse_text(text)
    if name == "source":
        return source_of(text, preset)
    if name == "account_id" and ";" in text:
        raise CellError(f"{text!r} names several companies: export the primary company's id only")
    return text


def _derive_flags(value: dict, options: Options) -> None:
    """is_closed / is_won from the stage when the file has no such column (or the cell is empty)."""
    stage = value.get("stage")
    if not isinstance(stage, str) or ("is_closed" in value and "is_won" in value):
        return
    key = stage_key(stage)
    won = key in {stage_key(s) for s in (*WON_STAGES, *options.won_stages)}
    lost = key in {stage_key(s) for s in (*LOST_STAGES, *options.lost_stages)}
    value.setdefault("is_closed", won or lost or value.get("is_won") is True)  # a won deal is closed
    value.setdefault("is_won", won and value["is_closed"] is True)

