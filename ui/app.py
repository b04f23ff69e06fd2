"""pulse dashboard: awareness and engagement of target accounts, live."""
from __future__ import annotations

from datetime import datetime, timezone

import streamlit as st

from ui import queries
from ui.db import query

st.set_page_config(page_title="pulse · ABM engagement", page_icon="📈", layout="wide")
st.title("Target account engagement")


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f}% of targets" if whole else "no targets yet"


@st.fragment(run_every=5)
def overview() -> None:
    try:
        stages = query(queries.TARGET_STAGES).iloc[0]
    except Exception as exc:
        st.warning(f"The database is not reachable yet ({str(exc).splitlines()[0][:120]}). "
                   "Is `pulse up` running? This page retries every 5 seconds.")
        return
    targets = int(stages["targets"])
    if targets == 0:
        st.info("No target accounts yet. Import your list with `pulse accounts import accounts.csv`, "
                "or start with `pulse up --demo` to see sample data.")
        return
    aware, engaged, mqa = (int(stages[k]) for k in ("aware", "engaged", "mqa"))
    c1, c2, c3, c4 = st.columns(4)
    c1.metric("Target accounts", targets)
    c2.metric("Aware", aware, help="Target accounts with any engagement in 90 days")
    c2.caption(_pct(aware, targets))
    c3.metric("Engaged", engaged, help="At least 10 engagement minutes in 90 days")
    c3.caption(_pct(engaged, targets))
    c4.metric("MQA", mqa, help="At least 100 minutes and 2 people with 20+ minutes in 90 days")
    c4.caption(_pct(mqa, targets))
    latest = query(queries.FRESHNESS).iloc[0]["latest"]
    if latest is not None and str(latest) != "NaT":
        age = (datetime.now(timezone.utc) - latest.tz_localize("UTC") if latest.tzinfo is None
               else datetime.now(timezone.utc) - latest).total_seconds()
        st.caption(f"Updated {max(0, age):.0f} s ago")
    trend = query(queries.MINUTES_BY_CHANNEL)
    st.subheader("Engagement minutes by channel, last 30 days")
    if trend.empty:
        st.info("No engagement yet: touches from target accounts will appear here within seconds.")
    else:
        trend["minutes"] = trend["minutes"].astype(float)
        st.bar_chart(trend, x="day", y="minutes", color="channel")
    st.subheader("Most engaged target accounts (30 days)")
    st.dataframe(query(queries.LEADERBOARD), hide_index=True, use_container_width=True)


overview()
