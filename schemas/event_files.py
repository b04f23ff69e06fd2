"""Event files for `pulse send`: JSON lines or CSV into (line number, JSON value | reason). Pure.

CSV: one column per field of the contract (header row first); empty cells are absent fields;
whole-number fields and an opportunity's true/false flags are converted; unknown columns are kept
as properties like any unknown field.
"""
from __future__ import annotations

import csv
import io
from typing import IO, Iterator

import msgspec

from schemas.events import MAX_INT

_INT_FIELDS = frozenset(MAX_INT) | {"probability"}
# true/false cells of the opportunity snapshot's flags, as spreadsheets and CRM exports write them
_BOOL_FIELDS = frozenset({"is_closed", "is_won"})
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False}


def guess_format(name: str) -> str:
    return "csv" if name.lower().endswith(".csv") else "jsonl"


def read_jsonl(handle: IO[bytes]) -> Iterator[tuple[int, object, str | None]]:
    """(line number, value, None) for each non-blank line, or (line number, raw text, reason)."""
    for number, line in enumerate(handle, start=1):
        if not line.strip():
            continue
        try:
            yield number, msgspec.json.decode(line), None
        except UnicodeDecodeError as exc:
            yield number, line.decode(errors="replace"), f"not UTF-8 (invalid byte at position {exc.start})"
        except (msgspec.DecodeError, ValueError, RecursionError) as exc:
            yield number, line.decode(errors="replace"), f"not valid JSON: {exc}"


def read_csv(handle: IO[bytes]) -> Iterator[tuple[int, object, str | None]]:
    text = io.TextIOWrapper(handle, encoding="utf-8-sig", errors="strict", newline="")
    reader = csv.DictReader(text)
    try:
        for row in reader:
            number = reader.line_num
            if None in row:
                yield number, row.pop(None), "more cells than header columns"
                continue
            yield number, {k.strip(): _cell(k.strip(), v) for k, v in row.items() if k and v not in (None, "")}, None
    except UnicodeDecodeError as exc:
        yield reader.line_num + 1, "", f"not UTF-8 (invalid byte at position {exc.start}); the rest of the file was not read"
    except csv.Error as exc:
        yield reader.line_num, "", f"not valid CSV: {exc}; the rest of the file was not read"


def _cell(name: str, value: str) -> object:
    value = value.strip()
    if name in _INT_FIELDS and value.lstrip("-").isdigit():
        return int(value)
    if name in _BOOL_FIELDS and value.lower() in _BOOLS:
        return _BOOLS[value.lower()]
    return value
