"""Cells of a CRM export as the contract takes them: amounts with currency symbols and thousands
separators, locale dates, check-box flags, deal types and lead sources by the CRMs' own labels. Pure.
"""
from __future__ import annotations

import re
from datetime import date, datetime, time, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation


class CellError(ValueError):
    """One cell the contract cannot take; the message is the reason shown next to the field."""


def _key(text: str) -> str:
    return re.sub(r"[^0-9a-z]", "", text.casefold())


# ---- amounts -------------------------------------------------------------------------------------
_SYMBOLS = {"€": "EUR", "£": "GBP", "$": None}  # "$" names no one currency: the reporting one is assumed
_CODE = re.compile(r"^([A-Za-z]{3})\s*(.+)$|^(.+?)\s*([A-Za-z]{3})$")
_PLAIN = re.compile(r"^-?\d+(\.\d+)?$")
_US = re.compile(r"^-?\d{1,3}(,\d{3})+(\.\d+)?$")                 # 1,234,567.50
_EU = re.compile(r"^-?\d{1,3}(\.\d{3})+(,\d+)?$|^-?\d+,\d{1,2}$")  # 1.234.567,50 and 1234,5
_SPACED = re.compile(r"^-?\d{1,3}( \d{3})+([.,]\d+)?$")           # 1 234 567,50


def parse_amount(text: str) -> tuple[Decimal, str | None]:
    """(amount, the currency the cell names or None): `$1,234.50`, `USD 1234.50`, `1.234,50 €`."""
    rest, currency = text.strip(), None
    negative = rest.startswith("(") and rest.endswith(")")  # accounting style, refused below as negative
    rest = rest.strip("()").strip()
    for symbol, code in _SYMBOLS.items():
        if symbol in rest:
            rest, currency = rest.replace(symbol, "").strip(), code
    match = _CODE.match(rest)
    if match and not _PLAIN.match(rest):
        code, number = (match.group(1), match.group(2)) if match.group(1) else (match.group(4), match.group(3))
        rest, currency = number.strip(), code.upper()
    rest = re.sub(r"[\u00a0\u202f]", " ", rest)
    if _PLAIN.match(rest):
        number = rest
    elif _US.match(rest):
        number = rest.replace(",", "")
    elif _EU.match(rest):
        number = rest.replace(".", "").replace(",", ".")
    elif _SPACED.match(rest):
        number = rest.replace(" ", "").replace(",", ".")
    else:
        raise CellError(f"{text[:40]!r} is not an amount (e.g. 1234.50, 1,234.50, $1,234.50, EUR 1.234,50)")
    try:
        amount = Decimal(number)
    except InvalidOperation:
        raise CellError(f"{text[:40]!r} is not an amount") from None
    return (-amount if negative else amount), currency


# ---- times ---------------------------------------------------------------------------------------
_LOCALE = re.compile(r"^(\d{1,2})([/.])(\d{1,2})[/.](\d{4})"
                     r"(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?\s*([AaPp]\.?[Mm]\.?)?)?$")


def _locale(text: str, day_first: bool) -> tuple[date, time | None] | None:
    match = _LOCALE.match(text)
    if not match:
        return None
    a, sep, b, year, hour, minute, second, half = match.groups()
    day, month = (int(a), int(b)) if day_first or sep == "." else (int(b), int(a))
    try:
        day_value = date(int(year), month, day)
    except ValueError:
        hint = "" if day_first else " (a day-first export? use --day-first)"
        raise CellError(f"{text!r} is not a date{hint}") from None
    if hour is None:
        return day_value, None
    h = int(hour)
    if half:
        if not 1 <= h <= 12:
            raise CellError(f"{text!r}: hour {h} with AM/PM")
        h = h % 12 + (12 if half[0] in "Pp" else 0)
    try:
        return day_value, time(h, int(minute), int(second or 0))
    except ValueError:
        raise CellError(f"{text!r} is not a time of day") from None


def parse_instant(text: str, tz: tzinfo, day_first: bool = False) -> datetime:
    """ISO 8601 (`2024-03-05 14:22`, with or without offset) or a locale date (`3/5/2024 2:22 PM`);
    without an offset the time is read in `tz` (PULSE_REPORTING_TZ), a bare date as its midnight."""
    parsed = _locale(text, day_first)
    if parsed is not None:
        day, clock = parsed
        return datetime.combine(day, clock or time(0), tz)
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    except ValueError:
        raise CellError(f"{text[:40]!r} is not a date and time (e.g. 2024-03-05 14:22, 3/5/2024 2:22 PM)") from None
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


def parse_day(text: str, day_first: bool = False) -> date:
    """A calendar day as written (`2024-03-05`, `3/5/2024`); a time after it is ignored, as CRMs keep close dates."""
    parsed = _locale(text, day_first)
    if parsed is not None:
        return parsed[0]
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text).date()
    except ValueError:
        raise CellError(f"{text[:40]!r} is not a date (YYYY-MM-DD, or the export's M/D/YYYY)") from None


# ---- flags, numbers, labels ----------------------------------------------------------------------
_BOOLS = {"true": True, "false": False, "1": True, "0": False, "yes": True, "no": False, "t": True, "f": False,
          "y": True, "n": False}


def parse_bool(text: str) -> bool:
    try:
        return _BOOLS[text.strip().casefold()]
    except KeyError:
        raise CellError(f"{text[:40]!r} is not true/false (also 1/0, yes/no)") from None


def parse_probability(text: str, fraction: bool) -> int:
    """A whole percentage: `60`, `60%`, or HubSpot's fraction `0.6`; half-up to the whole number."""
    number = text.strip()
    percent = number.endswith("%")
    try:
        value = Decimal(number.rstrip("%").strip())
    except InvalidOperation:
        raise CellError(f"{text[:40]!r} is not a percentage") from None
    if fraction and not percent:
        value *= 100
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


_FORMULA = ("=", "+", "@", "\t", "\r")


def parse_text(text: str) -> str:
    """Text as written, but never a cell a spreadsheet would run when a view is exported back (`=cmd|...`)."""
    if text.startswith(_FORMULA) or (text.startswith("-") and not text[1:2].isdigit()):
        raise CellError(f"starts with {text[0]!r}: looks like a spreadsheet formula, refused (CSV injection)")
    return text


_TYPES = {
    "new_business": ("newbusiness", "new", "newcustomer"),
    "renewal": ("renewal", "existingcustomerreplacement", "existingcustomerdowngrade"),
    "expansion": ("expansion", "upsell", "upgrade", "crosssell", "addon", "existingbusiness",
                  "existingcustomerupgrade"),
}
_TYPE_OF = {label: kind for kind, labels in _TYPES.items() for label in labels}


def type_of(text: str) -> str:
    """The contract's deal type from HubSpot's (`New Business`, `Existing Business`) or Salesforce's
    (`New Customer`, `Existing Customer - Upgrade`, ...) label."""
    kind = _TYPE_OF.get(_key(text))
    if kind is None:
        raise CellError(f"{text[:40]!r} is not a known deal type (new business, renewal, expansion, upsell, "
                        "existing business, new customer, existing customer - upgrade/replacement/downgrade)")
    return kind


# Lead sources the presets name as the contract's `marketing` / `partner` (sourced pipeline counts `marketing`).
_SOURCES = {
    "hubspot": {"marketing": ("organicsearch", "paidsearch", "emailmarketing", "socialmedia", "organicsocial",
                              "paidsocial", "referrals", "othercampaigns", "directtraffic", "aisearch")},
    "salesforce": {"marketing": ("web", "advertisement", "tradeshow", "seminarinternal", "webinar"),
                   "partner": ("partner", "partnerreferral", "seminarpartner")},
}


def source_of(text: str, preset: str) -> str:
    for source, labels in _SOURCES.get(preset, {}).items():
        if _key(text) in labels:
            return source
    return text
