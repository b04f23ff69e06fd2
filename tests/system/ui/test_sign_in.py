"""The dashboard's password gate slows a guesser down: per session and per client address, three
free tries, then pauses of 2, 4, 8 ... s (at most 5 minutes) in which no password is compared."""
from __future__ import annotations

import pytest

import ui.auth as auth
from ui.auth import Failures
from ui_fixtures import dashboard, fresh_settings, texts  # noqa: F401  (fixtures)


@pytest.fixture
def frozen_clock(monkeypatch):
    now = [1_000.0]
    monkeypatch.setattr(auth, "clock", lambda: now[0])
    auth.client_failures().clear()
    yield now
    auth.client_failures().clear()


def sign_in(at, password: str):
    at.text_input[0].input(password)
    at.button[0].click().run()
    return at


def test_wrong_passwords_pause_signing_in(broker, tmp_path, dashboard, frozen_clock):
    settings = fresh_settings(broker, tmp_path)  # the gate comes before any query: no worker needed
    env = {"PULSE_UI_PASSWORD": "s3cret-password"}
    at = dashboard(settings, env=env)
    for attempt in range(3):
        sign_in(at, f"guess-{attempt}")
        assert "not right" in at.error[0].value
    assert "paused for 2 s" in at.error[0].value
    # the right password, in the pause: not even compared
    sign_in(at, "s3cret-password")
    assert "Try again in 2 s" in at.error[0].value and "Overview" not in texts(at)
    # a new session from the same client waits too
    other = sign_in(dashboard(settings, env=env), "s3cret-password")
    assert "Try again in 2 s" in other.error[0].value and "Overview" not in texts(other)
    # after the pause the right password signs in, and the counts start again
    frozen_clock[0] += 2.0
    sign_in(at, "s3cret-password")
    assert not at.error and "Overview" in [t.value for t in at.title]
    assert auth.client_failures().get("loopback") == Failures()
