"""Alerts: target accounts that just became MQA, are surging, or came back after a quiet spell."""
from __future__ import annotations

import streamlit as st

from ui import queries as q
from ui.queries_alerts import ALERT_DELIVERIES
from ui.components import REFRESH_SECONDS, data_table, empty, freshness, header, load, quiet
from ui.format import STAGE_LABELS, age_seconds, utc_now

header("Alerts", "What changed: new marketing-qualified accounts, surging accounts (7-day minutes at least 10 "
                 "and twice their usual week) and re-engaged accounts (active again after 60+ quiet days).")

st.segmented_control("Window", (24, 168), default=24, key="alerts_hours",
                     format_func=lambda h: "Last 24 hours" if h == 24 else "Last 7 days")


@st.fragment(run_every=REFRESH_SECONDS)
def alerts() -> None:
    hours = st.session_state.get("alerts_hours") or 24
    flagged = load(q.FLAGGED_ACCOUNTS, what="The alerts")
    if flagged is None:
        return
    mqas = quiet(q.MQA_COUNTS)
    m = mqas.iloc[0] if mqas is not None and not mqas.empty else None
    if not flagged.empty:
        age = [age_seconds(t, utc_now()) for t in flagged["last_activity_at"]]
        flagged["in_24h"] = [a is not None and a <= 86400 for a in age]

    def count(flag: str, day_only: bool) -> int:
        if flagged.empty:
            return 0
        rows = flagged[flagged[flag].astype(bool)]
        return int(rows["in_24h"].sum()) if day_only else len(rows)

    cols = st.columns(3)
    cols[0].metric("New MQAs · 24 h / 7 days", "–" if m is None else f"{int(m['mqa_24h'])} / {int(m['mqa_7d'])}",
                   border=True, help="Target accounts that became marketing-qualified")
    cols[1].metric("Surging · 24 h / 7 days", f"{count('surging', True)} / {count('surging', False)}", border=True,
                   help="Surging target accounts active in the window")
    cols[2].metric("Re-engaged · 24 h / 7 days", f"{count('re_engaged', True)} / {count('re_engaged', False)}",
                   border=True, help="Re-engaged target accounts active in the window")
    freshness()

    st.subheader("Became MQA")
    new = load(q.NEW_MQAS, {"hours": hours}, what="The MQA list",
               none="No account became MQA in this window.")
    if new is not None:
        new["stage_from"] = new["stage_from"].map(STAGE_LABELS).fillna(new["stage_from"])
        new["open"] = "account?account=" + new["account_id"]
        data_table(new,
                   column_order=("open", "account_name", "changed_at", "stage_from", "owner", "tier"),
                   column_config={"open": st.column_config.LinkColumn("", display_text="Open", width="small"),
                                  "account_name": "Account",
                                  "changed_at": st.column_config.DatetimeColumn("When", format="distance"),
                                  "stage_from": "Was", "owner": "Owner", "tier": "Tier"})

    st.subheader("Surging and re-engaged")
    if hours == 24 and not flagged.empty:
        flagged = flagged[flagged["in_24h"]].copy()
    if flagged.empty:
        empty("No surging or re-engaged target account in this window.")
    else:
        flagged["why"] = [" · ".join(w for w, on in (("surging", s), ("re-engaged", r)) if on)
                          for s, r in zip(flagged["surging"], flagged["re_engaged"])]
        flagged["stage"] = flagged["stage"].map(STAGE_LABELS).fillna(flagged["stage"])
        flagged["open"] = "account?account=" + flagged["account_id"]
        data_table(flagged,
                   column_order=("open", "account_name", "why", "minutes_7d", "minutes_30d", "stage",
                                 "last_activity_at", "owner", "tier"),
                   column_config={"open": st.column_config.LinkColumn("", display_text="Open", width="small"),
                                  "account_name": "Account", "why": "Alert",
                                  "minutes_7d": st.column_config.NumberColumn("Minutes 7 d", format="%.1f"),
                                  "minutes_30d": st.column_config.NumberColumn("Minutes 30 d", format="%.1f"),
                                  "stage": "Stage",
                                  "last_activity_at": st.column_config.DatetimeColumn("Last activity",
                                                                                      format="distance"),
                                  "owner": "Owner", "tier": "Tier"})


@st.fragment(run_every=REFRESH_SECONDS)
def deliveries() -> None:
    """What the alert rules (PULSE_ALERTS_FILE) sent: each rule's alert once, as its latest attempt."""
    st.subheader("Deliveries")
    hours = st.session_state.get("alerts_hours") or 24
    sent = load(ALERT_DELIVERIES, {"hours": hours}, what="The alert deliveries",
                none="No alert was delivered in this window. Rules live in the file PULSE_ALERTS_FILE names "
                     "(see the README, Alerts).")
    if sent is None:
        return
    counts = sent["status"].value_counts()
    cols = st.columns(3)
    for col, status, label in zip(cols, ("sent", "retrying", "failed"), ("Sent", "Retrying", "Failed")):
        col.metric(label, int(counts.get(status, 0)), border=True,
                   help={"sent": "Accepted by the destination", "retrying": "Failed so far; tried again with backoff",
                         "failed": "Gave up after the rule file's max_attempts"}[status])
    sent["open"] = "account?account=" + sent["account_id"]
    data_table(sent,
               column_order=("open", "account_name", "kind", "rule", "destination", "status", "attempts",
                             "attempted_at", "last_error"),
               column_config={"open": st.column_config.LinkColumn("", display_text="Open", width="small"),
                              "account_name": "Account", "kind": "Alert", "rule": "Rule", "destination": "To",
                              "status": "Status", "attempts": "Attempts",
                              "attempted_at": st.column_config.DatetimeColumn("Last attempt", format="distance"),
                              "last_error": "Last error"})


alerts()
deliveries()
