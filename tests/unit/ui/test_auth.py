"""The dashboard's password gate slows a guesser down: per session and per client address, three
free tries, then pauses of 2, 4, 8 ... s (at most 5 minutes) in which no password is compared."""
from __future__ import annotations

import pytest

from ui.auth import ClientFailures, Failures, client_key, locked_for, pause_s
from ui_fixtures import dashboard, fresh_settings, texts  # noqa: F401  (fixtures)


@pytest.mark.parametrize("failures, pause", [
    (0, 0), (1, 0), (2, 0),          # three free tries ...
    (3, 2), (4, 4), (5, 8), (6, 16),  # ... then the pause doubles
    (10, 256), (11, 300), (30, 300),  # capped at five minutes
])
def test_pause_after_failures(failures, pause):
    assert pause_s(failures) == pause


def test_lockout_timeline():
    #  t=100 101 102: three wrong passwords -> paused until t=104
    #  t=104: a fourth -> paused until t=108; t=107.5 still paused; t=108 free again
    f = Failures()
    for t in (100.0, 101.0, 102.0):
        assert f.locked_for(t) == 0
        f = f.failed(t)
    assert f.locked_for(102.0) == 2.0 and f.locked_for(103.5) == 0.5 and f.locked_for(104.0) == 0
    f = f.failed(104.0)
    assert f.locked_for(107.5) == 0.5 and f.locked_for(108.0) == 0
    # a day without a wrong password forgets the earlier ones: the next one is a free try again
    assert f.failed(104.0 + 86_401).locked_for(104.0 + 86_401) == 0


def test_session_and_client_each_lock():
    fresh, guessed = Failures(), Failures(count=5, last_at=50.0)  # paused until t=58
    assert locked_for(fresh, guessed, 52.0) == 6.0   # a new session from the same address waits
    assert locked_for(guessed, fresh, 52.0) == 6.0   # a session that rotates addresses waits
    assert locked_for(fresh, fresh, 52.0) == 0


@pytest.mark.parametrize("peer, forwarded, trusted, key", [
    (None, None, (), "loopback"),                                    # Streamlit gives no address for loopback
    ("203.0.113.7", None, (), "203.0.113.7"),
    ("203.0.113.7", "198.51.100.1", (), "203.0.113.7"),              # a header from anyone is not believed
    ("10.0.0.5", "198.51.100.1, 10.0.0.9", ("10.0.0.0/8",), "198.51.100.1"),
    ("10.0.0.5", "1.2.3.4, 198.51.100.1", ("10.0.0.0/8",), "198.51.100.1"),  # the client's own prefix is not read
    ("10.0.0.5", None, ("10.0.0.0/8",), "10.0.0.5"),
])
def test_client_key(peer, forwarded, trusted, key):
    assert client_key(peer, forwarded, trusted) == key


def test_client_failures_are_bounded():
    clients = ClientFailures(max_clients=3)
    for n, client in enumerate(["a", "b", "c", "d"]):
        clients.failed(client, float(n))
    assert clients.get("a") == Failures()           # the oldest forgotten first
    assert clients.get("d").count == 1
    clients.succeeded("d")
    assert clients.get("d") == Failures()
