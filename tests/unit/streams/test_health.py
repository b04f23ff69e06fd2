"""Health bookkeeping on timelines (rates, the batch in flight) and the fault-injection rules, pure."""
from __future__ import annotations

import pytest

from opskit import FAULT_TOKEN
from schemas.settings import Settings, SettingsError
from sinks.faults import FaultRequestError, check_fault_token, outage_seconds
from streams.health import HealthMonitor, RateMeter


@pytest.mark.parametrize("points, at, rate", [
    # t:  0    1    2 ... 10   11        (window 10 s)
    ([], 5.0, 0.0),                                  # nothing yet
    ([(0.0, 10)], 0.5, 10.0),                        # first second: divided by 1 s, not by the window
    ([(0.0, 10), (1.0, 10), (2.0, 10)], 2.0, 15.0),  # 30 events over 2 s
    ([(0.0, 100), (5.0, 50)], 12.0, 5.0),            # the t=0 point left the window: 50 / 10 s
    ([(0.0, 100), (5.0, 50)], 20.0, 0.0),            # everything left the window
])
def test_rate_meter(points, at, rate):
    meter = RateMeter(window=10.0)
    for t, n in points:
        meter.add(n, t)
    assert meter.rate(at) == pytest.approx(rate)


def test_oldest_unflushed_is_the_batch_in_flight():
    #  t=100 message produced ... t=103 batch taken ... t=110 reading ... t=111 written
    monitor = HealthMonitor()
    assert monitor.oldest_unflushed_s(100.0) == 0.0
    monitor.taken(500, oldest_timestamp=100.0, now=103.0)
    assert monitor.oldest_unflushed_s(110.0) == pytest.approx(10.0)
    monitor.flushed(500, dead_letters=2, now=111.0)
    assert monitor.oldest_unflushed_s(112.0) == 0.0
    assert monitor.dead_letters == 2
    assert monitor.events_out.rate(111.0) > 0


@pytest.mark.parametrize("raw, answer", [
    ("30", 30.0),
    ("0", 0.0),                      # disarms
    ("60", 60.0),                    # the cap itself
    ("inf", "not a finite number"),  # float() takes these: an endless outage
    ("Infinity", "not a finite number"),
    ("1e309", "not a finite number"),
    ("nan", "not a finite number"),  # no comparison ends it
    ("-5", "outside 0..60"),
    ("60.5", "outside 0..60"),
    ("abc", "not a number"),
    (None, "required"),
    ("", "required"),
])
def test_outage_seconds(raw, answer):
    if isinstance(answer, float):
        assert outage_seconds(raw, cap=60) == answer
    else:
        with pytest.raises(FaultRequestError, match=answer) as refused:
            outage_seconds(raw, cap=60)
        assert (refused.value.status, refused.value.field) == (400, "seconds")


@pytest.mark.parametrize("authorization, header, status", [
    (None, None, 401),
    ("Bearer ", None, 401),
    ("Basic dXNlcjpwYXNz", None, 401),           # another scheme is no token
    ("Bearer wrong-token-wrong-token", None, 403),
    (None, "wrong", 403),
    ("Bearer t\u00e9st-non-ascii", None, 403),   # a non-ASCII header is a wrong token, not a 500
    (f"Bearer {FAULT_TOKEN}", None, None),
    (f"bearer   {FAULT_TOKEN}  ", None, None),
    (None, FAULT_TOKEN, None),
])
def test_fault_token(authorization, header, status):
    if status is None:
        check_fault_token(authorization, header, FAULT_TOKEN)
        return
    with pytest.raises(FaultRequestError) as refused:
        check_fault_token(authorization, header, FAULT_TOKEN)
    assert (refused.value.status, refused.value.field) == (status, "token")


@pytest.mark.parametrize("env, problem", [
    ({"PULSE_FAULT_INJECTION": "1"}, "PULSE_FAULT_TOKEN is not set"),
    ({"PULSE_FAULT_INJECTION": "true", "PULSE_FAULT_TOKEN": "short"}, "shorter than 16"),
    ({"PULSE_FAULT_MAX_SECONDS": "inf"}, "PULSE_FAULT_MAX_SECONDS"),
    ({"PULSE_FAULT_MAX_SECONDS": "0"}, "PULSE_FAULT_MAX_SECONDS"),
])
def test_fault_injection_settings_refused(env, problem):
    with pytest.raises(SettingsError, match=problem):
        Settings.from_env(env)
