"""Sales activity: what the reps did at the target accounts (calls, conversations, meetings, one-to-one emails)
against the 1-in-3 reference, which target accounts sales covers, whether sales accepted the MQAs marketing
handed over, and the marketing-sales SLA per owner (views of sinks/migrations/0700_sales_activity_views.sql)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui import queries_sales as q
from ui.components import data_table, empty, freshness, header, load, reports_as_of
from ui.db import settings
from ui.format import rate

header("Sales activity", "What sales did with the target accounts: calls, conversations, meetings and one-to-one "
                         "emails per rep and account, coverage, account acceptance and the marketing–sales SLA.")

# The views are reports the engine recomputes in the background (0900_reports.sql): a refresh every 30 s is
# live enough for a rep's day.
SALES_REFRESH_SECONDS = 30
PERIODS = {"mtd": "Month to date", "qtd": "Quarter to date", "ytd": "Year to date", "90d": "90 days",
           "365d": "365 days"}
REFERENCE = 1 / 3  # the articles: about one call in three should become a conversation
HOW_TO_SEND = ("No sales activity yet. Post calls (with `outcome` and `rep`) to the signed webhook `/hooks/calls`, "
               "meetings to `/hooks/events`, and one-to-one emails (`sales_email`), lifecycle changes and account "
               "decisions (`account_status`) to `/hooks/crm`, or send a file of them with `pulse send file.jsonl`; "
               "`pulse up --demo` shows sample data.")
REASONS = {"no_contact_known": "No contact known", "no_owner": "No owner", "no_activity_30d": "No activity in 30 days"}
STATUS = {"accepted": "Accepted", "rejected": "Rejected", "not_interested": "Not interested", "undecided": "Undecided"}

st.segmented_control("Period", list(PERIODS), default="mtd", key="sales_period", format_func=PERIODS.get,
                     help="By the day of each touch, the day a person became MQL and the day an account became MQA "
                          "(reporting time zone), today included")


def as_float(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    frame = frame.copy()
    for c in columns:
        frame[c] = pd.to_numeric(frame[c].astype(object).where(frame[c].notna()), errors="coerce")
    return frame


def rates_chart(rows: pd.DataFrame, label: str, title: str) -> alt.Chart:
    """Call -> conversation and call -> meeting per rep or account (in the rows' order), with the 1-in-3 line."""
    long = as_float(rows, "call_to_conversation_rate", "call_to_meeting_rate").melt(
        id_vars=[label], value_vars=["call_to_conversation_rate", "call_to_meeting_rate"], var_name="rate")
    long["rate"] = long["rate"].map({"call_to_conversation_rate": "Call → conversation",
                                     "call_to_meeting_rate": "Call → meeting"})
    bars = alt.Chart(long).mark_bar().encode(
        x=alt.X("value:Q", title="Share of calls", axis=alt.Axis(format="%"), scale=alt.Scale(domain=[0, 1])),
        y=alt.Y(f"{label}:N", title=None, sort=rows[label].tolist(), axis=alt.Axis(labelLimit=260)),
        yOffset="rate:N",
        color=alt.Color("rate:N", title=None, legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip(f"{label}:N", title=label.replace("_", " ").capitalize()),
                 alt.Tooltip("rate:N", title="Rate"), alt.Tooltip("value:Q", title="Share", format=".1%")])
    line = alt.Chart(pd.DataFrame({"value": [REFERENCE]})).mark_rule(color="#E45756", strokeDash=[6, 4]).encode(
        x="value:Q", tooltip=[alt.Tooltip("value:Q", title="Reference (1 in 3)", format=".1%")])
    return (bars + line).properties(title=title, height=alt.Step(14))


def activity(period: str) -> None:
    rows = load(q.SALES_SUMMARY, {"period": period}, what="Sales activity")
    if rows is None:
        return
    total = rows[rows["rep"] == "all"].iloc[0]
    tiles = st.columns(6)
    tiles[0].metric("Calls", f"{int(total['calls']):,}", border=True,
                    help=f"Calls logged in the period; {int(total['connected_calls']):,} connected (outcome connected, "
                         "conversation or meeting_booked)")
    tiles[1].metric("Conversations", f"{int(total['conversations']):,}", border=True,
                    help="Calls with outcome conversation or meeting_booked")
    tiles[2].metric("Call → conversation", rate(total["call_to_conversation_rate"]), border=True,
                    help="Conversations ÷ calls; the articles call about 1 in 3 (33%) good")
    tiles[3].metric("Call → meeting", rate(total["call_to_meeting_rate"]), border=True,
                    help="Calls with outcome meeting_booked ÷ calls; about 1 in 3 is good")
    tiles[4].metric("Meetings held", f"{int(total['meetings_held']):,}", border=True,
                    help=f"Meeting events; one-to-one emails: {int(total['emails_out']):,} sent, "
                         f"{int(total['emails_in']):,} replies")
    per_day = total["actions_per_target_account_per_day"]
    tiles[5].metric("Actions per target account per day", "—" if pd.isna(per_day) else f"{float(per_day):.4f}",
                    border=True, help="Commercial actions (calls, outbound sales emails, meetings) at target accounts "
                                      "÷ target accounts ÷ days in the period")
    reps = rows[(rows["rep"] != "all") & (rows["calls"] > 0)].assign(rep=lambda r: r["rep"].replace("", "(no rep)"))
    accounts = load(q.ACCOUNT_ACTIVITY, {"period": period}, what="Activity per account")
    left, right = st.columns(2)
    with left:
        if reps.empty:
            st.caption("No calls in this period, so no call rates per rep.")
        else:
            st.altair_chart(rates_chart(reps, "rep", "Call rates per rep, against 1 in 3"), width="stretch")
    with right:
        called = accounts[accounts["calls"] > 0].head(10) if accounts is not None and not accounts.empty \
            else pd.DataFrame()
        if called.empty:
            st.caption("No calls at target accounts in this period.")
        else:
            st.altair_chart(rates_chart(called, "account_name", "Call rates per target account (the 10 most called)"),
                            width="stretch")
    if accounts is not None and not accounts.empty:
        data_table(accounts.drop(columns=["account_id"]), height=250, column_config={
            "account_name": "Target account", "calls": "Calls", "conversations": "Conversations",
            "meetings_booked": "Meetings booked", "meetings_held": "Meetings held", "emails_out": "Emails sent",
            "emails_in": "Replies",
            "call_to_conversation_rate": st.column_config.NumberColumn("Call → conversation", format="percent"),
            "call_to_meeting_rate": st.column_config.NumberColumn("Call → meeting", format="percent")})


def coverage() -> None:
    st.subheader("Coverage")
    rows = load(q.COVERAGE, what="Coverage")
    if rows is None or rows.empty:
        st.caption("No target accounts yet: `pulse accounts import accounts.csv`.")
        return
    covered = int(rows["covered"].sum())
    st.metric("Target accounts covered", f"{covered:,} of {len(rows):,} ({covered / len(rows):.0%})", border=True,
              help="A target account is covered with at least one sales activity (a call, meeting or sales email, "
                   "either way) today or in the 29 days before")
    uncovered = rows[rows["covered"] == 0].assign(reason=lambda r: r["reason"].map(REASONS).fillna(r["reason"]))
    if uncovered.empty:
        st.caption("Every target account had sales activity in the last 30 days.")
        return
    st.markdown("**Uncovered target accounts and why** · the first that applies: no contact known, no owner, "
                "no activity in 30 days")
    data_table(uncovered[["account_name", "owner", "reason", "last_sales_activity_at"]], height=250, column_config={
        "account_name": "Target account", "owner": "Owner", "reason": "Why",
        "last_sales_activity_at": st.column_config.DatetimeColumn("Last sales activity",
                                                                  format="distance")})


def acceptance(period: str) -> None:
    st.subheader("Account acceptance")
    rows = load(q.ACCEPTANCE, {"period": period}, what="Account acceptance")
    if rows is None:
        return
    r = rows.iloc[0]
    cols = st.columns(4)
    cols[0].metric("MQAs handed over", f"{int(r['mqas']):,}", border=True,
                   help="Target accounts that became MQA (marketing-qualified) in the period")
    cols[1].metric("Accepted", rate(r["acceptance_rate"]), border=True,
                   help=f"{int(r['accepted']):,} of them: sales' latest account_status after the MQA change is accepted")
    cols[2].metric("Rejected or not interested", rate(r["rejection_rate"]), border=True,
                   help=f"{int(r['rejected']):,} rejected, {int(r['not_interested']):,} not interested; "
                        f"{int(r['undecided']):,} still undecided (no decision since, or reopened)")
    per_1000 = r["accepted_per_1000_targets"]
    cols[3].metric("Accepted per 1,000 target accounts", "—" if pd.isna(per_1000) else f"{float(per_1000):,.2f}",
                   border=True, help="Accepted accounts × 1,000 ÷ target accounts on today's list")
    decisions = load(q.DECISIONS, {"period": period}, what="Decisions")
    if decisions is not None and not decisions.empty:
        decisions["status"] = decisions["status"].map(STATUS).fillna(decisions["status"])
        data_table(decisions.drop(columns=["account_id"]), height=250, column_config={
            "account_name": "Target account", "mqa_at": st.column_config.DatetimeColumn("MQA since", format="distance"),
            "status": "Decision", "reason": "Reason", "decided_by": "By",
            "decided_at": st.column_config.DatetimeColumn("Decided", format="distance")})


def sla(period: str) -> None:
    s = settings()
    st.subheader("Marketing–sales SLA per owner")
    st.caption(f"An MQL is worked once a call, outbound sales email or meeting reaches that person after it became "
               f"MQL; in time when the first comes within {s.sla_first_touch_hours:g} h; the SLA asks "
               f"{s.sla_attempts} attempts within {s.sla_attempt_days:g} days and {s.sla_worked_pct:g}% worked and "
               f"attempts met. A lead still inside its {s.sla_attempt_days:g} days is pending: counted, never judged.")
    rows = load(q.SLA, {"period": period}, what="The SLA")
    if rows is None:
        return
    if rows.empty:
        st.caption("No MQLs in this period: lifecycle changes to mql come from your CRM through `/hooks/crm`.")
        return
    rows["owner"] = rows["owner"].replace("", "(no owner)")
    rows["sla"] = ["Pending" if pd.isna(m) else ("Pass" if int(m) else "Fail") for m in rows["meets_sla"]]
    rows = as_float(rows, "worked_pct", "worked_in_time_pct", "median_hours_to_first_touch", "avg_attempts",
                    "attempts_met_pct", "connected_pct")
    pct = lambda title, help: st.column_config.NumberColumn(title, format="%.1f%%", help=help)  # noqa: E731
    data_table(rows.drop(columns=["meets_sla"]), column_order=(
        "owner", "sla", "mqls", "pending", "worked", "worked_pct", "worked_in_time_pct", "median_hours_to_first_touch",
        "avg_attempts", "attempts_met_pct", "connected_pct"), column_config={
        "owner": "Owner", "sla": st.column_config.TextColumn("SLA", help="Pass: worked % and attempts-met % both at "
                                                                       "the target; Pending: no MQL decided yet"),
        "mqls": "MQLs", "pending": st.column_config.NumberColumn("Pending", help="Still inside their attempt window"),
        "worked": st.column_config.NumberColumn("Worked", help="Decided MQLs with an attempt"),
        "worked_pct": pct("Worked %", "Of the decided MQLs"),
        "worked_in_time_pct": pct("In time %", f"First attempt within {s.sla_first_touch_hours:g} h"),
        "median_hours_to_first_touch": st.column_config.NumberColumn(
            "Median hours to first touch", format="%.2f", help="Over every MQL with a first attempt, pending ones too"),
        "avg_attempts": st.column_config.NumberColumn("Avg attempts", format="%.2f",
                                                    help=f"In the {s.sla_attempt_days:g}-day window"),
        "attempts_met_pct": pct("Attempts met %", f"At least {s.sla_attempts} attempts in the window"),
        "connected_pct": pct("Connected %", "A connected call, a conversation, a booked meeting, a reply or a meeting")})


@st.fragment(run_every=SALES_REFRESH_SECONDS)
def page() -> None:
    sources = load(q.SALES_ANY, what="Sales activity")
    if sources is None:
        return
    if int(sources.iloc[0]["sources"]) == 0:
        empty(HOW_TO_SEND)
        freshness(SALES_REFRESH_SECONDS)
        return
    reports_as_of(q.SALES_REPORTS)
    period = st.session_state.get("sales_period") or "mtd"
    st.subheader(f"Activity · {PERIODS[period].lower()}")
    activity(period)
    coverage()
    acceptance(period)
    sla(period)
    freshness(SALES_REFRESH_SECONDS)


page()
