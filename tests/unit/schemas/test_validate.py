"""The event contract: every accepted shape, every rejection named by field and reason."""
from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import pytest

from schemas.events import PageView, decode_batch, encode_batch
from schemas.validate import Accepted, Rejected, validate

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=timezone.utc)
MAX_AGE = timedelta(days=395)


def page_view(**over):
    base = {"type": "page_view", "occurred_at": "2026-11-20T11:59:00+00:00", "url": "https://x.example/p",
            "email": "Ana@Acme.Example "}
    base.update(over)
    return {k: v for k, v in base.items() if v is not None}


def check(obj):
    return validate(obj, now=NOW, max_age=MAX_AGE)


def test_page_view_is_accepted_and_normalised():
    result = check(page_view())
    assert isinstance(result, Accepted)
    assert isinstance(result.event, PageView)
    assert result.event.email == "ana@acme.example"
    assert result.event.occurred_at == datetime(2026, 11, 20, 11, 59, tzinfo=timezone.utc)


def test_missing_event_id_is_derived_deterministically():
    first, second = check(page_view()), check(page_view())
    assert first.event.event_id == second.event.event_id
    other = check(page_view(url="https://x.example/other"))
    assert other.event.event_id != first.event.event_id
    # the same instant written with another offset is the same event
    shifted = check(page_view(occurred_at="2026-11-20T13:59:00+02:00"))
    assert shifted.event.event_id == first.event.event_id


def test_producer_event_id_is_kept():
    event_id = str(uuid.uuid4())
    assert str(check(page_view(event_id=event_id)).event.event_id) == event_id


def test_unknown_fields_are_kept_in_properties():
    result = check(page_view(utm_source="linkedin", properties={"plan": "pro"}))
    assert result.event.properties == {"plan": "pro", "utm_source": "linkedin"}


@pytest.mark.parametrize(
    "obj, field, reason_part",
    [
        ([1, 2], "$", "JSON object"),
        ({"type": "fax"}, "type", "unknown event type"),
        (page_view(url=None), "url", "missing"),
        (page_view(url=5), "url", "Expected `str`"),
        (page_view(occurred_at="yesterday"), "occurred_at", "datetime"),
        (page_view(occurred_at="2026-11-20T11:59:00"), "occurred_at", "UTC offset"),
        (page_view(occurred_at="2026-11-20T12:06:00+00:00"), "occurred_at", "future"),
        (page_view(occurred_at="2024-01-01T00:00:00+00:00"), "occurred_at", "older than this path takes"),
        (page_view(email="not-an-email"), "email", "not a valid email"),
        (page_view(email=None, ip="999.1.1.1"), "ip", "not a valid IP"),
        (page_view(event_id="nope"), "event_id", "UUID"),
        (page_view(email=None), "$", "identity"),
        (page_view(url="https://x.example/" + "a" * 3000), "url", "longer than 2048"),
        (page_view(engaged_seconds=-3), "engaged_seconds", "negative"),
        ({"type": "call", "occurred_at": "2026-11-20T11:00:00+00:00", "email": "a@b.example",
          "direction": "sideways", "duration_seconds": 10, "outcome": "connected"}, "direction", "inbound"),
    ],
)
def test_rejections_name_the_field_and_reason(obj, field, reason_part):
    result = check(obj)
    assert isinstance(result, Rejected)
    assert any(e.field == field and reason_part in e.reason for e in result.errors), result.errors


def test_every_problem_is_reported_not_just_the_first():
    result = check({"type": "call", "occurred_at": "soon", "email": "a@b.example", "direction": 3})
    fields = {e.field for e in result.errors}
    assert {"occurred_at", "direction", "duration_seconds", "outcome"} <= fields


def test_an_item_without_a_type_still_names_its_bad_time_email_and_ip():
    """Issue 13: a missing `type` used to hide every other problem (only `type` was named)."""
    result = check({"occurred_at": "2024-01-01T00:00:00+00:00", "email": "not-an-email", "ip": "999.1.1.1"})
    assert {e.field for e in result.errors} == {"type", "occurred_at", "email", "ip"}, result.errors


def test_a_structural_error_does_not_hide_a_bad_email_or_ip():
    result = check({"type": "call", "occurred_at": "2026-11-20T11:59:00", "email": "nope", "ip": "1.2.3",
                    "direction": "sideways", "duration_seconds": 10, "outcome": "connected"})
    assert {e.field for e in result.errors} == {"direction", "occurred_at", "email", "ip"}, result.errors


def test_wire_batch_round_trips():
    events = [check(page_view()).event, check(page_view(url="https://x.example/2")).event]
    assert decode_batch(encode_batch(events)) == events


def test_heartbeat_is_its_own_type_pointing_at_a_page_view():
    view_id = str(uuid.uuid4())
    result = check({"type": "page_engagement", "occurred_at": "2026-11-20T11:59:30+00:00", "anonymous_id": "c1",
                    "page_view_id": view_id, "engaged_seconds": 30})
    assert isinstance(result, Accepted)
    assert str(result.event.page_view_id) == view_id and result.event.engaged_seconds == 30
    missing = check({"type": "page_engagement", "occurred_at": "2026-11-20T11:59:30+00:00", "anonymous_id": "c1"})
    assert {e.field for e in missing.errors} == {"page_view_id", "engaged_seconds"}


@pytest.mark.parametrize(
    "obj, field, reason_part",
    [
        (page_view(engaged_seconds=86_401), "engaged_seconds", "larger than 86400"),
        ({"type": "meeting", "occurred_at": "2026-11-20T11:00:00+00:00", "account_id": "a", "duration_minutes": 5000},
         "duration_minutes", "larger than 1440"),
        (page_view(properties=[1]), "properties", "expected a JSON object, got array"),
        (page_view(blob="x" * 5000), "properties", "larger than 4096 bytes"),
        ({"occurred_at": "2026-11-20T11:00:00+00:00"}, "type", "missing"),
        ({"type": ["page_view"]}, "type", "unknown event type 'array'"),
        (page_view(title="t" * 513), "title", "longer than 512 characters (513)"),
    ],
)
def test_limits_are_named(obj, field, reason_part):
    result = check(obj)
    assert isinstance(result, Rejected)
    assert any(e.field == field and reason_part in e.reason for e in result.errors), result.errors


def test_reasons_are_dicts_for_the_answer_and_the_dead_letter():
    result = check(page_view(url=None))
    assert result.reasons() == [{"field": "url", "reason": "required field is missing"}]
