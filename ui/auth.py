"""The optional password gate (PULSE_UI_PASSWORD), throttled. Unset: the dashboard is open, as it is
when the platform in front of it (a reverse proxy, an SSO gateway) already asks who you are.

Wrong passwords slow the next try down, per browser session and per client address alike (a new
session is free to open, an address is not): the first three are free, then signing in pauses for
2, 4, 8 ... seconds, at most five minutes, until the right password is given. While paused, a
password is not even compared. `locked_for` decides it from the failures and an explicit `now`;
the Streamlit part below only keeps the counts and draws the form.
"""
from __future__ import annotations

import hmac
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import streamlit as st

_KEY = "pulse_signed_in"
_FAILURES = "pulse_sign_in_failures"

FREE_TRIES = 3              # wrong passwords before the first pause
MAX_PAUSE_S = 300.0         # the longest pause: a guesser gets about 12 tries an hour per address
FORGET_AFTER_S = 86_400.0   # a day without a wrong password forgets the earlier ones
MAX_CLIENTS = 10_000        # addresses remembered at once (the oldest failure is forgotten first)
clock = time.monotonic      # the shell's `now` (tests put a fake clock here)


def password_ok(typed: str, expected: str) -> bool:
    """Constant-time comparison, so the answer time says nothing about the password."""
    return hmac.compare_digest(typed.encode(), expected.encode())


def pause_s(failures: int) -> float:
    """How long signing in pauses after `failures` wrong passwords in a row."""
    if failures < FREE_TRIES:
        return 0.0
    return min(2.0 ** (failures - FREE_TRIES + 1), MAX_PAUSE_S)


@dataclass(frozen=True)
class Failures:
    count: int = 0
    last_at: float = -math.inf   # time of the last wrong password (the caller's clock)

    def locked_for(self, now: float) -> float:
        """Seconds until a password is compared again (0: now)."""
        return max(0.0, self.last_at + pause_s(self.count) - now)

    def failed(self, now: float) -> "Failures":
        count = 0 if now - self.last_at > FORGET_AFTER_S else self.count
        return Failures(count + 1, now)


def locked_for(session: Failures, client: Failures, now: float) -> float:
    """The pause a sign-in waits: the longer of its session's and its address's."""
    return max(session.locked_for(now), client.locked_for(now))


def client_key(peer: str | None, forwarded_for: str | None = None, trusted: tuple[str, ...] = ()) -> str:
    """Whose failures these are: the connection's address, or behind a trusted proxy
    (PULSE_TRUSTED_PROXIES) the last X-Forwarded-For address that is not a proxy of ours.
    Loopback (Streamlit gives no address for it) is one client."""
    if peer is None:
        return "loopback"
    networks = [ipaddress.ip_network(cidr, strict=False) for cidr in trusted]

    def is_proxy(address: str) -> bool:
        try:
            ip = ipaddress.ip_address(address.strip())
        except ValueError:
            return False
        return any(ip in net for net in networks)

    if forwarded_for and is_proxy(peer):
        for hop in reversed(forwarded_for.split(",")):
            if hop.strip() and not is_proxy(hop):
                return hop.strip()[:64]
    return peer


class ClientFailures:
    """Failures by client address, for the whole dashboard process; bounded, thread-safe."""

    def __init__(self, max_clients: int = MAX_CLIENTS):
        self.max_clients = max_clients
        self._by_client: OrderedDict[str, Failures] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, client: str) -> Failures:
        with self._lock:
            return self._by_client.get(client, Failures())

    def failed(self, client: str, now: float) -> Failures:
        with self._lock:
            failures = self._by_client.pop(client, Failures()).failed(now)
            self._by_client[client] = failures          # the most recent failure last
            while len(self._by_client) > self.max_clients:
                self._by_client.popitem(last=False)
            return failures

    def succeeded(self, client: str) -> None:
        with self._lock:
            self._by_client.pop(client, None)

    def clear(self) -> None:
        with self._lock:
            self._by_client.clear()


@st.cache_resource
def client_failures() -> ClientFailures:
    return ClientFailures()


def _client(trusted: tuple[str, ...]) -> str:
    try:
        peer, forwarded = st.context.ip_address, st.context.headers.get("X-Forwarded-For")
    except Exception:  # no browser connection (a script run in tests): the loopback client
        peer, forwarded = None, None
    return client_key(peer if isinstance(peer, str) else None, forwarded if isinstance(forwarded, str) else None,
                      trusted)


def signed_in(expected: str | None, trusted_proxies: tuple[str, ...] = ()) -> bool:
    """True when no password is set or this browser session gave the right one; else draws the form."""
    if not expected or st.session_state.get(_KEY):
        return True
    st.title("pulse")
    st.caption("This dashboard is protected. Ask your pulse administrator for the password.")
    with st.form("sign_in"):
        typed = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if not submitted:
        return False
    clients, client, now = client_failures(), _client(trusted_proxies), clock()
    session = st.session_state.get(_FAILURES, Failures())
    wait = locked_for(session, clients.get(client), now)
    if wait > 0:
        st.error(f"Too many wrong passwords: signing in is paused. Try again in {math.ceil(wait)} s.")
        return False
    if password_ok(typed, expected):
        st.session_state[_KEY] = True
        st.session_state.pop(_FAILURES, None)
        clients.succeeded(client)
        st.rerun()
    session = session.failed(now)
    st.session_state[_FAILURES] = session
    wait = locked_for(session, clients.failed(client, now), now)
    paused = f" Too many wrong passwords: signing in is paused for {math.ceil(wait)} s." if wait > 0 else ""
    st.error("That password is not right. Try again." + paused)
    return False
