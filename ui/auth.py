"""The optional password gate (PULSE_UI_PASSWORD). Unset: the dashboard is open, as it is when the
platform in front of it (a reverse proxy, an SSO gateway) already asks who you are."""
from __future__ import annotations

import hmac

import streamlit as st

_KEY = "pulse_signed_in"


def password_ok(typed: str, expected: str) -> bool:
    """Constant-time comparison, so the answer time says nothing about the password."""
    return hmac.compare_digest(typed.encode(), expected.encode())


def signed_in(expected: str | None) -> bool:
    """True when no password is set or this browser session gave the right one; else draws the form."""
    if not expected or st.session_state.get(_KEY):
        return True
    st.title("pulse")
    st.caption("This dashboard is protected. Ask your pulse administrator for the password.")
    with st.form("sign_in"):
        typed = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        if password_ok(typed, expected):
            st.session_state[_KEY] = True
            st.rerun()
        st.error("That password is not right. Try again.")
    return False
