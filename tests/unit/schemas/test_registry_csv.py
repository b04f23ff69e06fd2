"""Registry CSV imports: valid rows load, each bad row is reported with its line number and reason."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest

from schemas.registry_csv import parse_accounts, parse_contacts, parse_programs

ACCOUNTS = """account_id,name,domains,ip_ranges,tier,target,committee_size,owner
acme,Acme,acme.example;acme.co.uk,10.0.0.0/8;2001:db8::/32,1,true,6,Avery
bad1,Bad,not a domain,,2,yes,,Blake
bad2,Bad,,300.1.1.1/24,,no,,
bad3,Bad,,,,maybe,,
,NoId,,,,,,
globex,Globex,globex.example,192.0.2.7,3,0,x,
"""


def test_accounts():
    records, errors = parse_accounts(io.StringIO(ACCOUNTS))
    assert [r.account_id for r in records] == ["acme"]
    acme = records[0]
    assert acme.domains == ("acme.example", "acme.co.uk") and acme.ip_ranges == ("10.0.0.0/8", "2001:db8::/32")
    assert (acme.is_target, acme.committee_size, acme.owner) == (True, 6, "Avery")
    assert [(e.line, e.reason.split(" ")[0]) for e in errors] == [
        (3, "domains:"), (4, "ip_ranges:"), (5, "target"), (6, "account_id"), (7, "committee_size")]


def test_single_ip_becomes_a_host_range():
    records, _ = parse_accounts(io.StringIO(
        "account_id,name,domains,ip_ranges,tier,target,committee_size,owner\nx,X,,192.0.2.7,,1,,\n"))
    assert records[0].ip_ranges == ("192.0.2.7/32",)


def test_contacts():
    records, errors = parse_contacts(io.StringIO(
        "email,account_id,name,title,role\n Ana@Acme.Example ,acme,Ana,CFO,c_level\nnope,acme,,,vp\nb@acme.example,,,,boss\n"
        "c@acme.example,,,,\n"))
    assert [(r.email, r.role) for r in records] == [("ana@acme.example", "c_level"), ("c@acme.example", "other")]
    assert [e.line for e in errors] == [3, 4]
    assert "role 'boss'" in errors[1].reason


def test_programs():
    records, errors = parse_programs(io.StringIO(
        "program_id,name,channel,starts_at,ends_at,cost,audience_size\n"
        "web-q4,Q4 webinar,webinar,2026-11-01T10:00:00+00:00,,1500.50,800\nx,,,,,-1,\ny,,,soon,,,\n"))
    assert records[0].cost == Decimal("1500.50") and records[0].audience_size == 800
    assert [e.line for e in errors] == [3, 4]


def test_missing_header_column_is_one_clear_error():
    with pytest.raises(ValueError, match="missing: owner"):
        parse_accounts(io.StringIO("account_id,name,domains,ip_ranges,tier,target,committee_size\n"))
