"""Spend and goals from CSV for `pulse spend import` and `pulse goals import`. Pure: text in,
(records, rejected rows) out; the CLI publishes the records.

    spend.csv   month,category,amount[,currency]   2026-03,salaries,42000.00
    goals.csv   month,metric,target                2026-03,won_amount,150000

Every problem of a row is named at once, by field; the valid rows still load. A cell a spreadsheet
would run as a formula is refused (as in the opportunity import), and so is a file whose header
cannot work (nothing is imported then).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable

from schemas.opportunity_cells import CellError, parse_text
from schemas.opportunity_csv import MAX_CELL, ImportRefused
from schemas.registry import GoalRecord, SpendRecord

METRICS = ("pipeline_created_amount", "won_amount", "new_customers")
MAX_CATEGORY = 64
MAX_AMOUNT = Decimal("9999999999999999.99")  # Decimal(18, 2)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_MONEY = re.compile(r"^\d+(\.\d{1,2})?$")


@dataclass
class Rejected:
    line: int
    problems: list[tuple[str, str]]                        # (field, reason), every one of the row
    cells: dict[str, str] = field(default_factory=dict)    # as written, each cut to 200 characters


@dataclass(frozen=True)
class Layout:
    """What one kind of file holds: its columns, and how a row of cells becomes a record."""

    what: str                          # "spend" or "goals", for messages
    required: tuple[str, ...]
    optional: tuple[str, ...]
    key: tuple[str, str]               # one row per (month, this) in a file
    make: Callable[[dict[str, str], dict[str, str]], object]  # (cells, problems) -> record or None


def parse_month(text: str) -> date:
    match = _MONTH.match(text)
    if not match or not 1 <= int(match.group(2)) <= 12:
        raise CellError(f"{text[:40]!r} is not a month: write YYYY-MM, e.g. 2026-03")
    if not 2000 <= int(match.group(1)) <= 2099:
        raise CellError(f"{text!r}: the year must be between 2000 and 2099")
    return date(int(match.group(1)), int(match.group(2)), 1)


def parse_money(text: str, whole: bool = False) -> Decimal:
    """A plain decimal >= 0 with at most 2 decimals (a whole number when `whole`): 42000, 1234.50."""
    if text.startswith("-") and _MONEY.match(text[1:]):
        raise CellError(f"{text!r} is negative: must be 0 or more")
    if re.match(r"^\d+\.\d{3,}$", text):
        raise CellError(f"{text!r} has more than 2 decimals")
    if not _MONEY.match(text):
        raise CellError(f"{text[:40]!r} is not a plain number: write it without currency symbols or thousands "
                        "separators, with a dot before at most 2 decimals (e.g. 1234.50)")
    value = Decimal(text)
    if value > MAX_AMOUNT:
        raise CellError(f"{text[:40]!r} is larger than {MAX_AMOUNT}")
    if whole and value != value.to_integral_value():
        raise CellError(f"{text!r}: a number of customers is a whole number")
    return value


def _spend(currency: str) -> Callable[[dict[str, str], dict[str, str]], object]:
    def make(cells: dict[str, str], problems: dict[str, str]) -> SpendRecord | None:
        month = _take(cells, problems, "month", parse_month)
        category = _take(cells, problems, "category", _category)
        amount = _take(cells, problems, "amount", parse_money)
        written = cells.get("currency", "").upper()
        if written and written != currency and "currency" not in problems:
            problems["currency"] = (f"{cells['currency'][:40]!r} is not the reporting currency {currency} "
                                    "(PULSE_CURRENCY): convert the amounts first; pulse never converts")
        if problems:
            return None
        return SpendRecord(month=month, category=category, amount=amount)
    return make


def _goal(cells: dict[str, str], problems: dict[str, str]) -> GoalRecord | None:
    month = _take(cells, problems, "month", parse_month)
    metric = _take(cells, problems, "metric", _metric)
    whole = metric == "new_customers"
    target = _take(cells, problems, "target", lambda text: parse_money(text, whole))
    if problems:
        return None
    return GoalRecord(month=month, metric=metric, target=target)


def _category(text: str) -> str:
    if len(text) > MAX_CATEGORY:
        raise CellError(f"{len(text)} characters: at most {MAX_CATEGORY}")
    if any(ord(c) < 32 or ord(c) == 127 for c in text):
        raise CellError("holds control characters")
    return text


def _metric(text: str) -> str:
    if text not in METRICS:
        raise CellError(f"{text[:40]!r} is not one of {', '.join(METRICS)}")
    return text


def _take(cells: dict[str, str], problems: dict[str, str], name: str, parse: Callable[[str], object]):
    if name in problems:
        return None
    text = cells.get(name, "")
    if not text:
        problems[name] = "missing: the column is required"
        return None
    try:
        return parse(text)
    except CellError as exc:
        problems[name] = str(exc)
        return None


def spend_layout(currency: str) -> Layout:
    return Layout("spend", ("month", "category", "amount"), ("currency",), ("month", "category"), _spend(currency))


GOALS = Layout("goals", ("month", "metric", "target"), (), ("month", "metric"), _goal)


def read(text: str, layout: Layout) -> tuple[list[str], list[object], list[Rejected]]:
    """(ignored columns, records, rejected rows); ImportRefused when the file cannot be read at all."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff"), newline=""))
    try:
        header = [h.strip().casefold() for h in next(reader, [])]
    except csv.Error as exc:
        raise ImportRefused(f"line 1: not valid CSV: {exc}") from None
    if not any(header):
        raise ImportRefused(f"the file is empty: expected the header {','.join(layout.required)}, then one row "
                            "per line")
    twice = sorted({h for h in header if h and header.count(h) > 1})
    if twice:
        raise ImportRefused(f"the column {twice[0]!r} appears twice: which one holds the value is ambiguous")
    missing = [c for c in layout.required if c not in header]
    if missing:
        raise ImportRefused(f"the header must name the columns {','.join(layout.required)}; missing: "
                            f"{', '.join(missing)}")
    known = layout.required + layout.optional
    records, rejected, first_line = [], [], {}
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            line = reader.line_num
            row = {h: c.strip() for h, c in zip(header, cells) if h in known}
            problems = _row_problems(cells, header, row)
            record = layout.make(row, problems)
            if record is not None:
                key = tuple(str(getattr(record, k)) for k in layout.key)
                if key in first_line:
                    problems[layout.key[1]] = (f"{key[0][:7]} {key[1]!r} is also on line {first_line[key]}: one "
                                               f"row per month and {layout.key[1]} in a file")
                else:
                    first_line[key] = line
                    records.append(record)
                    continue
            order = {name: i for i, name in enumerate(("$",) + known)}
            named = sorted(problems.items(), key=lambda item: order.get(item[0], 0))
            rejected.append(Rejected(line, named, {k: v[:200] for k, v in row.items()}))
    except csv.Error as exc:
        rejected.append(Rejected(reader.line_num, [("$", f"not valid CSV: {exc}; the rest of the file was not read")]))
    return [h for h in header if h and h not in known], records, rejected


def _row_problems(cells: list[str], header: list[str], row: dict[str, str]) -> dict[str, str]:
    """The problems found before any value is read: too many cells, huge cells, formula cells."""
    problems: dict[str, str] = {}
    if len(cells) > len(header):
        problems["$"] = f"{len(cells)} cells, the header has {len(header)} columns"
    for name, text in row.items():
        try:
            if len(text) > MAX_CELL:
                raise CellError(f"{len(text)} characters: longer than any field takes")
            if text:
                parse_text(text)
        except CellError as exc:
            problems[name] = str(exc)
    return problems
