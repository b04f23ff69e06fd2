"""The funnel contract (issue 16), rule by rule: lifecycle_change, account_status and sales_email; each
case breaks one rule and is named by its field, an item breaking all of them gets every problem in one
answer (fast and slow paths); the lifecycle stages are a setting; where each type may come in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from decimal import Decimal

import msgspec
import pytest

from schemas.events import SalesEmail
from schemas.settings import Settings, SettingsError
from schemas.validate import Accepted, Rejected, follow_rules, validate
from sinks.migrate import load_migrations
from streams.pipeline import decode_message
from streams.core.weights import Weights, base_minutes, minutes_for
from streams.tracking.endpoint_types import refused_by_collect, refused_by_webhook

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)
AGE = timedelta(days=365)
STAGES = Settings().lifecycle_stages
AT = "2026-11-25T10:00:00Z"
GOOD = {
    "lifecycle_change": {"type": "lifecycle_change", "email": "Ana@Acme.example ", "stage": "mql", "occurred_at": AT,
                         "owner": "kim", "lead_status": "new", "source": "marketing"},
    "account_status": {"type": "account_status", "account_id": "acme", "status": "accepted", "occurred_at": AT,
                       "reason": "fits the ICP", "owner": "kim"},
    "sales_email": {"type": "sales_email", "email": "ana@acme.example", "direction": "inbound", "occurred_at": AT,
                    "rep": "kim", "subject": "Re: pricing"},
}


def check(item: dict, stages: tuple[str, ...] | None = STAGES) -> Accepted | Rejected:
    return validate(item, now=NOW, max_age=AGE, stages=stages)


def problems(item: dict, stages: tuple[str, ...] | None = STAGES) -> dict[str, str]:
    result = check(item, stages)
    assert isinstance(result, Rejected), result
    return {e.field: e.reason for e in result.errors}


CASES = [
    # (type, changes to its GOOD item, field named, words of the reason)
    ("lifecycle_change", {"email": None}, "email", "required"),
    ("lifecycle_change", {"email": "not-an-email"}, "email", "valid email"),
    ("lifecycle_change", {"stage": None}, "stage", "required"),
    ("lifecycle_change", {"stage": "marketing_qualified"}, "stage", "not one of: subscriber, lead, mql"),
    ("lifecycle_change", {"stage": "MQL"}, "stage", "PULSE_LIFECYCLE_STAGES"),
    ("lifecycle_change", {"stage": "s" * 65}, "stage", "longer than 64"),
    ("lifecycle_change", {"lead_status": "x" * 65}, "lead_status", "longer than 64"),
    ("lifecycle_change", {"owner": "o" * 129}, "owner", "longer than 128"),
    ("lifecycle_change", {"source": "s" * 65}, "source", "longer than 64"),
    ("lifecycle_change", {"anonymous_id": "cookie"}, "anonymous_id", "not a field of lifecycle_change"),
    ("lifecycle_change", {"program_id": "webinar"}, "program_id", "not a field of lifecycle_change"),
    ("lifecycle_change", {"occurred_at": "2026-11-25T10:00:00"}, "occurred_at", "UTC offset"),
    ("account_status", {"account_id": None}, "account_id", "required"),
    ("account_status", {"status": "maybe"}, "status", "accepted, rejected, not_interested, reopened"),
    ("account_status", {"status": None}, "status", "required"),
    ("account_status", {"reason": "r" * 513}, "reason", "longer than 512"),
    ("account_status", {"email": "ana@acme.example"}, "email", "not a field of account_status"),
    ("account_status", {"occurred_at": "2026-11-25T13:00:00Z"}, "occurred_at", "future"),
    ("sales_email", {"direction": None}, "direction", "required"),
    ("sales_email", {"direction": "sideways"}, "direction", "outbound, inbound"),
    ("sales_email", {"email": None}, "email", "required"),
    ("sales_email", {"subject": "s" * 513}, "subject", "longer than 512"),
    ("sales_email", {"rep": "r" * 129}, "rep", "longer than 128"),
]


@pytest.mark.parametrize("kind, change, field, words", CASES, ids=[f"{c[0]}.{c[2]}:{c[3][:20]}" for c in CASES])
def test_each_rule_names_its_field(kind, change, field, words):
    item = {k: v for k, v in {**GOOD[kind], **change}.items() if v is not None}
    found = problems(item)
    assert field in found and words in found[field], found


@pytest.mark.parametrize("kind", sorted(GOOD))
def test_the_good_item_passes_both_paths_alike(kind):
    result = check(GOOD[kind])
    assert isinstance(result, Accepted), result
    assert result.event.email in (None, "ana@acme.example")
    again = check(GOOD[kind])  # an id-less item gets the same content-derived id
    assert again.event.event_id == result.event.event_id
    events = [check(GOOD[kind]).event]
    assert follow_rules(events, now=NOW, max_age=AGE, stages=STAGES)


@pytest.mark.parametrize("kind, bad, fields", [
    ("lifecycle_change", {"email": "nope", "stage": "hot", "ip": "1.2.3.4", "lead_status": "x" * 65,
                          "occurred_at": "2026-11-25T13:00:00Z"}, {"email", "stage", "ip", "lead_status", "occurred_at"}),
    ("account_status", {"account_id": None, "status": "maybe", "reason": "r" * 513, "campaign_id": "c"},
     {"account_id", "status", "reason", "campaign_id"}),
    ("sales_email", {"direction": "up", "email": "nope", "subject": "s" * 513}, {"direction", "email", "subject"}),
])
def test_every_problem_at_once(kind, bad, fields):
    item = {k: v for k, v in {**GOOD[kind], **bad}.items() if v is not None}
    assert set(problems(item)) == fields


def test_the_stages_are_a_setting_checked_by_whoever_knows_it():
    renamed = ("visitor", "lead", "marketing_qualified", "won", "other")
    assert isinstance(check({**GOOD["lifecycle_change"], "stage": "visitor"}, renamed), Accepted)
    assert "not one of: visitor, lead" in problems(GOOD["lifecycle_change"], renamed)["stage"]
    # None: the caller does not know the setting; the worker always checks it
    assert isinstance(check({**GOOD["lifecycle_change"], "stage": "anything"}, None), Accepted)
    assert Settings.from_env({"PULSE_LIFECYCLE_STAGES": "visitor, lead,won"}).lifecycle_stages == \
        ("visitor", "lead", "won")
    for bad, words in [("lead,Lead", "lower-case"), ("lead,lead,mql", "twice"), ("lead,other", "at least two"),
                       ("lead,mql');DROP", "lower-case"), ("1st,lead", "starting with a letter")]:
        with pytest.raises(SettingsError, match="PULSE_LIFECYCLE_STAGES") as caught:
            Settings.from_env({"PULSE_LIFECYCLE_STAGES": bad})
        assert words in str(caught.value) or words == "starting with a letter"


def test_the_funnel_views_get_the_order_without_other():
    settings = Settings(lifecycle_stages=("visitor", "other", "lead", "won"))
    funnel = next(m for m in load_migrations(settings) if m.name == "0500_funnel_views.sql")
    assert funnel.repeatable and "WITH ['visitor', 'lead', 'won'] AS stages" in funnel.sql
    default = next(m for m in load_migrations(Settings()) if m.name == "0500_funnel_views.sql")
    assert default.checksum != funnel.checksum  # a new order re-creates the views


def test_collect_never_takes_them_and_hooks_crm_takes_all_three():
    items = [dict(GOOD[k]) for k in sorted(GOOD)]
    assert sorted(refused_by_collect(items, Settings().collect_types)) == [0, 1, 2]
    for kind in ("lifecycle_change", "account_status", "sales_email"):
        with pytest.raises(SettingsError, match="cannot be posted to the public /collect"):
            Settings(collect_types=("page_view", kind)).check()
    assert refused_by_webhook([dict(GOOD[k]) for k in sorted(GOOD)], "/hooks/crm") == {}
    assert refused_by_webhook([dict(GOOD["sales_email"])], "/hooks/events") == {}


@pytest.mark.parametrize("direction, minutes", [("outbound", Decimal(0)), ("inbound", Decimal(2))])
def test_sales_email_minutes(direction, minutes):
    event = check({**GOOD["sales_email"], "direction": direction}).event
    assert type(event) is SalesEmail
    assert base_minutes(event, Weights()) == minutes
    assert minutes_for(event, Weights(), "vp") == (minutes * Decimal("1.5")).quantize(Decimal("0.01"))
    assert base_minutes(event, Weights(sales_email_inbound=Decimal(3))) == (3 if direction == "inbound" else 0)


def test_the_worker_checks_the_stage_whoever_sent_it():
    """A producer writing to the topic directly (or a hook that did not know the setting) is judged by
    the worker with PULSE_LIFECYCLE_STAGES: the bad change is dead-lettered naming `stage`, the rest kept."""
    good = {**GOOD["lifecycle_change"], "email": "ana@acme.example", "event_id": "00000000-0000-4000-8000-000000000001"}
    bad = {**good, "stage": "hot", "event_id": "00000000-0000-4000-8000-000000000002"}
    raw = msgspec.json.encode([good, bad, GOOD["sales_email"]])
    accepted, rejected = decode_message(raw, NOW, AGE, "USD", STAGES)
    assert [e.__struct_config__.tag for e in accepted] == ["lifecycle_change", "sales_email"]
    assert [[r["field"] for r in msgspec.json.decode(row.reasons)] for row in rejected] == [["stage"]]
    assert len(decode_message(raw, NOW, AGE, "USD", None)[0]) == 3  # without the setting, nothing to judge
