"""Engagement minutes per touch: defaults, role multipliers, rounding half-up to cents."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

import pytest

from schemas.events import Call, EmailClick, EmailOpen, EventAttendance, FormSubmit, Meeting, PageView
from streams.core.weights import Weights, minutes_for

AT = datetime(2026, 11, 20, tzinfo=timezone.utc)
C = {"event_id": "00000000-0000-0000-0000-000000000001", "occurred_at": AT, "email": "a@b.example"}
W = Weights()


@pytest.mark.parametrize(
    "event, role, minutes",
    [
        (PageView(**C, url="u"), "unknown", "1.00"),
        (EmailOpen(**C, campaign_id="c"), "manager", "1.00"),
        (EmailClick(**C, campaign_id="c", url="u"), "c_level", "4.00"),
        (FormSubmit(**C, form_id="f"), "director", "12.50"),
        (EventAttendance(**C, program_id="p", status="attended"), "other", "30.00"),
        (EventAttendance(**C, program_id="p", status="attended", attended_minutes=45), "vp", "67.50"),
        (EventAttendance(**C, program_id="p", status="registered"), "unknown", "5.00"),
        (EventAttendance(**C, program_id="p", status="no_show"), "c_level", "0.00"),
        (Call(**C, direction="inbound", duration_seconds=30, outcome="connected"), "unknown", "1.00"),
        (Call(**C, direction="inbound", duration_seconds=125, outcome="conversation"), "director", "2.60"),
        (Call(**C, direction="outbound", duration_seconds=600, outcome="voicemail"), "vp", "0.00"),
        (Call(**C, direction="outbound", duration_seconds=0, outcome="no_answer"), "vp", "0.00"),
        (Meeting(**C), "unknown", "30.00"),
        (Meeting(**C, duration_minutes=45), "c_level", "90.00"),
    ],
)
def test_minutes(event, role, minutes):
    assert minutes_for(event, W, role) == Decimal(minutes)


def test_rounding_is_half_up_to_cents():
    # 125 s / 60 = 2.08333 -> x1.25 = 2.6041666 -> 2.60; 61 s -> 1.0166 x1.5 = 1.525 -> 1.53 (half up)
    call = Call(**C, direction="inbound", duration_seconds=61, outcome="connected")
    assert minutes_for(call, W, "vp") == Decimal("1.53")


def test_weights_file_overrides_defaults(tmp_path):
    path = tmp_path / "weights.toml"
    path.write_text('email_open = 3\n[roles]\nvp = 2\n')
    w = Weights.load(path)
    assert minutes_for(EmailOpen(**C, campaign_id="c"), w, "vp") == Decimal("6.00")
    path.write_text("email_opn = 3\n")
    with pytest.raises(ValueError, match="email_opn"):
        Weights.load(path)


def test_the_form_cap_is_a_weight_with_a_default_of_one_form(tmp_path):
    assert Weights().form_submit_daily_cap == Weights().form_submit == Decimal(10)
    path = tmp_path / "weights.toml"
    path.write_text("form_submit_daily_cap = 20\n")
    assert Weights.load(path).form_submit_daily_cap == Decimal(20)
