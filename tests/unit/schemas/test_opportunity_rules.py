"""The opportunity contract, rule by rule: each case breaks one rule and must be named by its field;
a snapshot breaking all of them gets every problem in one answer (both validation paths)."""
from __future__ import annotations

import io
import uuid
from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from schemas.event_files import read_csv
from schemas.events import Opportunity, encode_batch
from schemas.settings import Settings, SettingsError
from schemas.validate import Accepted, Rejected, follow_rules, validate
from streams.tracking.endpoint_types import refused_by_collect, refused_by_webhook

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
AGE = timedelta(days=365)
GOOD = {"type": "opportunity", "opportunity_id": "o-1", "account_id": "acme", "stage": "Proposal",
        "is_closed": False, "is_won": False, "amount": "1200.50", "created_at": "2026-10-01T09:00:00-04:00",
        "close_date": "2026-12-20", "occurred_at": "2026-11-25T10:00:00Z"}


def check(item: dict, currency: str | None = "USD") -> Accepted | Rejected:
    return validate(item, now=NOW, max_age=AGE, currency=currency)


def problems(item: dict, currency: str | None = "USD") -> dict[str, str]:
    result = check(item, currency)
    assert isinstance(result, Rejected), result
    return {e.field: e.reason for e in result.errors}


CASES = {
    # case: (changes to GOOD, field named, words of the reason)
    "opportunity_id missing": ({"opportunity_id": None}, "opportunity_id", "required"),
    "opportunity_id too long": ({"opportunity_id": "x" * 129}, "opportunity_id", "longer than 128"),
    "account_id missing": ({"account_id": None}, "account_id", "required"),
    "stage too long": ({"stage": "s" * 65}, "stage", "longer than 64"),
    "is_closed not a bool": ({"is_closed": "yes"}, "is_closed", "bool"),
    "won while open": ({"is_won": True}, "is_won", "only when is_closed"),
    "negative amount": ({"amount": "-1.00"}, "amount", "must not be negative"),
    "three decimals": ({"amount": "10.005"}, "amount", "at most 2 decimals"),
    "float with three decimals": ({"amount": 10.005}, "amount", "at most 2 decimals"),
    "not a number": ({"amount": "NaN"}, "amount", "finite"),
    "too large": ({"amount": "1e20"}, "amount", "larger than"),
    "amount a bool": ({"amount": True}, "amount", "decimal"),
    "created_at without offset": ({"created_at": "2026-10-01T09:00:00"}, "created_at", "UTC offset"),
    "created after the snapshot": ({"created_at": "2026-11-25T11:00:00Z"}, "created_at", "after occurred_at"),
    "close_date a datetime": ({"close_date": "2026-12-20T00:00:00Z"}, "close_date", "date"),
    "close_date not a date": ({"close_date": "20/12/2026"}, "close_date", "date"),
    "unknown deal type": ({"opportunity_type": "upsell"}, "opportunity_type", "new_business, renewal, expansion"),
    "probability over 100": ({"probability": 101}, "probability", "<= 100"),
    "probability negative": ({"probability": -1}, "probability", ">= 0"),
    "another currency": ({"currency": "EUR"}, "currency", "PULSE_CURRENCY"),
    "not a currency code": ({"currency": "usd"}, "currency", "regex"),
    "a person's email": ({"email": "ana@acme.example"}, "email", "not a field of opportunity"),
    "occurred_at in the future": ({"occurred_at": "2026-11-25T13:00:00Z"}, "occurred_at", "future"),
    "owner too long": ({"owner": "o" * 129}, "owner", "longer than 128"),
    "source too long": ({"source": "s" * 65}, "source", "longer than 64"),
}


@pytest.mark.parametrize("case", CASES)
def test_each_rule_names_its_field(case):
    changes, field, words = CASES[case]
    item = {k: v for k, v in {**GOOD, **changes}.items() if v is not None}
    found = problems(item)
    assert field in found, found
    assert words in found[field], found


def test_every_problem_at_once():
    item = {**GOOD, "stage": "s" * 65, "is_won": True, "amount": "10.005", "created_at": "2026-10-01T09:00:00",
            "close_date": "tomorrow", "opportunity_type": "upsell", "probability": 101, "currency": "EUR",
            "email": "ana@acme.example"}
    del item["opportunity_id"]
    assert set(problems(item)) == {"opportunity_id", "stage", "is_won", "amount", "created_at", "close_date",
                                   "opportunity_type", "probability", "currency", "email"}
    # with only the cross-field rules broken (the types all fine), every one is named too
    assert set(problems({**GOOD, "is_won": True, "amount": "-0.001", "currency": "EUR"})) == \
        {"is_won", "amount", "currency"}


@pytest.mark.parametrize("amount, stored", [("1200.50", "1200.50"), (1200.5, "1200.50"), (0, "0.00"),
                                            ("7.100", "7.10"), ("9999999999999999.99", "9999999999999999.99")])
def test_valid_amounts(amount, stored):
    result = check({**GOOD, "amount": amount})
    assert isinstance(result, Accepted) and result.event.amount == Decimal(stored)


def test_defaults_and_a_closed_won_snapshot():
    event = check({**GOOD, "is_closed": True, "is_won": True, "currency": "USD", "probability": 100}).event
    assert isinstance(event, Opportunity) and event.opportunity_type == "new_business"
    assert check({**GOOD, "is_closed": True}).event.is_won is False  # closed-lost


def test_currency_is_the_reporting_one_and_left_to_the_worker_when_not_given():
    assert isinstance(check({**GOOD, "currency": "EUR"}, currency="EUR"), Accepted)
    assert "currency" in problems({**GOOD, "currency": "USD"}, currency="EUR")
    assert isinstance(check({**GOOD, "currency": "EUR"}, currency=None), Accepted)  # a hook without the setting
    # the worker's fast path (a message of typed events) applies the currency too
    events = msgspec.json.decode(encode_batch([check({**GOOD, "currency": "EUR"}, currency=None).event]))
    typed = [check(e, currency=None).event for e in events]
    assert follow_rules(typed, now=NOW, max_age=AGE, currency="USD") is False
    assert follow_rules(typed, now=NOW, max_age=AGE, currency="EUR") is True


def test_event_id_given_or_derived_from_the_content():
    given = str(uuid.uuid4())
    assert str(check({**GOOD, "event_id": given}).event.event_id) == given
    derived = check(GOOD).event.event_id
    # the same instants written with other offsets are the same snapshot; another stage is another
    same = {**GOOD, "created_at": "2026-10-01T13:00:00Z", "occurred_at": "2026-11-25T11:00:00+01:00"}
    assert check(same).event.event_id == derived
    assert check({**GOOD, "stage": "Negotiation"}).event.event_id != derived


def test_settings_currency_and_collect_keep_opportunities_out():
    assert Settings().currency == "USD"
    assert Settings.from_env({"PULSE_CURRENCY": "EUR"}).currency == "EUR"
    with pytest.raises(SettingsError, match="PULSE_CURRENCY"):
        Settings.from_env({"PULSE_CURRENCY": "euro"})
    with pytest.raises(SettingsError, match="/hooks/crm"):
        Settings.from_env({"PULSE_COLLECT_TYPES": "page_view,opportunity"})
    assert refused_by_collect([dict(GOOD)], frozenset({"page_view"}))[0][0]["field"] == "type"


def test_hooks_crm_defaults_to_opportunity_and_takes_only_crm_types():
    items = [{k: v for k, v in GOOD.items() if k != "type"}, {**GOOD}, {"type": "call"}]
    refused = refused_by_webhook(items, "/hooks/crm")
    assert items[0]["type"] == "opportunity"
    assert list(refused) == [2] and "/hooks/crm takes account_status, lifecycle_change, opportunity, sales_email" \
        in refused[2][0]["reason"]
    assert refused_by_webhook([dict(GOOD)], "/hooks/events") == {}
    assert list(refused_by_webhook([dict(GOOD)], "/hooks/calls")) == [0]


def test_a_csv_of_snapshots_for_pulse_send():
    text = ("type,opportunity_id,account_id,stage,is_closed,is_won,amount,created_at,close_date,occurred_at,"
            "probability\n"
            "opportunity,o-1,acme,Closed Won,TRUE,true,900.00,2026-10-01T09:00:00Z,2026-11-20,2026-11-25T10:00:00Z,"
            "100\n"
            "opportunity,o-2,acme,Proposal,no,0,50,2026-10-01T09:00:00Z,2026-12-20,2026-11-25T10:00:00Z,\n"
            "opportunity,o-3,acme,Proposal,maybe,0,50,2026-10-01T09:00:00Z,2026-12-20,2026-11-25T10:00:00Z,\n")
    rows = list(read_csv(io.BytesIO(text.encode())))
    won, open_, bad = (check(value) for _, value, _ in rows)
    assert (won.event.is_closed, won.event.is_won, won.event.probability) == (True, True, 100)
    assert (open_.event.is_closed, open_.event.probability) == (False, None)
    assert [e.field for e in bad.errors] == ["is_closed"]
