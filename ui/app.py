"""pulse dashboard: awareness and engagement of target accounts, live.

The main script only sets the page up, asks for the password when one is set, and hands over to
the page the reader picked (ui/views/*.py: a folder named `pages/` would be listed by Streamlit
itself, as bare file names, until the navigation below takes over). Each page keeps its filters
outside its live fragment, so the 5-second refresh never resets them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

# `streamlit run ui/app.py` puts ui/ on the path, not the project root the `ui` package lives in.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from schemas.settings import SettingsError  # noqa: E402
from ui.auth import signed_in  # noqa: E402
from ui.db import settings  # noqa: E402

st.set_page_config(page_title="pulse · ABM engagement", page_icon="📈", layout="wide")

try:
    password = settings().ui_password
except SettingsError as exc:  # one line naming the variable, as the command line says it
    st.error(f"pulse cannot start the dashboard: {exc}")
    st.stop()
if not signed_in(password, settings().trusted_proxies):  # throttled: ui/auth.py
    st.stop()

PAGES = Path(__file__).with_name("views")
page = st.navigation([
    st.Page(PAGES / "overview.py", title="Overview", icon=":material/dashboard:", default=True),
    st.Page(PAGES / "accounts.py", title="Accounts", icon=":material/leaderboard:"),
    st.Page(PAGES / "account.py", title="Account", icon=":material/apartment:"),
    st.Page(PAGES / "reach.py", title="Reach and programs", icon=":material/ads_click:"),
    st.Page(PAGES / "alerts.py", title="Alerts", icon=":material/notifications_active:"),
    st.Page(PAGES / "revenue.py", title="Revenue", icon=":material/payments:"),
    st.Page(PAGES / "sales_activity.py", title="Sales activity", icon=":material/support_agent:"),
    st.Page(PAGES / "influence.py", title="Influence", icon=":material/insights:"),
    st.Page(PAGES / "funnel.py", title="Funnel", icon=":material/filter_alt:"),
    st.Page(PAGES / "data_health.py", title="Data health", icon=":material/conveyor_belt:"),
    st.Page(PAGES / "sql.py", title="SQL", icon=":material/terminal:"),
])
st.sidebar.caption("pulse · account-based engagement, live")
page.run()
