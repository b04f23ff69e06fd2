"""CSV imports of the registry: pure parsing, every bad row reported with its line number and reason."""
from __future__ import annotations

import csv
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Iterable

from schemas.event_rules import EMAIL
from schemas.registry import AccountRecord, ContactRecord, ProgramRecord

_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9-]{1,63}\.)+[a-z]{2,63}$")
ROLES = ("c_level", "vp", "director", "manager", "other")
ACCOUNT_HEADER = ("account_id", "name", "domains", "ip_ranges", "tier", "target", "committee_size", "owner")
CONTACT_HEADER = ("email", "account_id", "name", "title", "role")
PROGRAM_HEADER = ("program_id", "name", "channel", "starts_at", "ends_at", "cost", "audience_size")


@dataclass(frozen=True)
class RowError:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def _split(value: str) -> list[str]:
    return [v.strip() for v in (value or "").split(";") if v.strip()]


def _rows(lines: Iterable[str], header: tuple[str, ...]):
    reader = csv.DictReader(lines)
    missing = [h for h in header if h not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"the header must name the columns {','.join(header)}; missing: {', '.join(missing)}")
    for row in reader:
        yield reader.line_num, {k: (v or "").strip() for k, v in row.items() if k}


def _bool(value: str) -> bool:
    if value.lower() in ("1", "true", "yes", "y", "t"):
        return True
    if value.lower() in ("", "0", "false", "no", "n", "f"):
        return False
    raise ValueError(f"target {value!r} is not true/false")


def parse_accounts(lines: Iterable[str]) -> tuple[list[AccountRecord], list[RowError]]:
    records, errors = [], []
    for line, row in _rows(lines, ACCOUNT_HEADER):
        try:
            if not row["account_id"]:
                raise ValueError("account_id is empty")
            domains = [d.lower() for d in _split(row["domains"])]
            bad = [d for d in domains if not _DOMAIN.match(d)]
            if bad:
                raise ValueError(f"domains: {', '.join(bad)} is not a domain name")
            ranges = []
            for cidr in _split(row["ip_ranges"]):
                try:
                    ranges.append(str(ipaddress.ip_network(cidr, strict=False)))
                except ValueError:
                    raise ValueError(f"ip_ranges: {cidr!r} is not an IPv4/IPv6 address or CIDR range") from None
            size = row["committee_size"]
            if size and (not size.isdigit() or int(size) > 65535):
                raise ValueError(f"committee_size {size!r} is not a whole number")
            records.append(AccountRecord(
                account_id=row["account_id"], name=row["name"], domains=tuple(domains), ip_ranges=tuple(ranges),
                tier=row["tier"], is_target=_bool(row["target"]), committee_size=int(size) if size else None,
                owner=row["owner"]))
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    return records, errors


def parse_contacts(lines: Iterable[str]) -> tuple[list[ContactRecord], list[RowError]]:
    records, errors = [], []
    for line, row in _rows(lines, CONTACT_HEADER):
        email = row["email"].lower()
        role = row["role"].lower() or "other"
        if not EMAIL.match(email):
            errors.append(RowError(line, f"email {row['email']!r} is not a valid address"))
        elif role not in ROLES:
            errors.append(RowError(line, f"role {row['role']!r} is not one of {', '.join(ROLES)}"))
        else:
            records.append(ContactRecord(email=email, account_id=row["account_id"], name=row["name"],
                                         title=row["title"], role=role))
    return records, errors


def _time(value: str, name: str) -> datetime | None:
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{name} {value!r} is not an ISO 8601 date or time") from None
    return parsed


def parse_programs(lines: Iterable[str]) -> tuple[list[ProgramRecord], list[RowError]]:
    records, errors = [], []
    for line, row in _rows(lines, PROGRAM_HEADER):
        try:
            if not row["program_id"]:
                raise ValueError("program_id is empty")
            try:
                cost = Decimal(row["cost"]) if row["cost"] else None
            except InvalidOperation:
                raise ValueError(f"cost {row['cost']!r} is not a number") from None
            if cost is not None and cost < 0:
                raise ValueError("cost must not be negative")
            size = row["audience_size"]
            if size and not size.isdigit():
                raise ValueError(f"audience_size {size!r} is not a whole number")
            records.append(ProgramRecord(
                program_id=row["program_id"], name=row["name"], channel=row["channel"],
                starts_at=_time(row["starts_at"], "starts_at"), ends_at=_time(row["ends_at"], "ends_at"),
                cost=cost, audience_size=int(size) if size else None))
        except ValueError as exc:
            errors.append(RowError(line, str(exc)))
    return records, errors
