"""Overview: how many target accounts are aware, engaged and MQA, and where their minutes come from."""
from __future__ import annotations

import streamlit as st

from ui import queries as q
from ui import queries_revenue as qr
from ui.components import (REFRESH_SECONDS, chart, empty, freshness, header, load, minutes_by_channel_chart, quiet,
                           reports_as_of)
from ui.db import settings
from ui.format import minutes, money, share, week_delta

header("Overview", "Target accounts by stage over the last 90 days, compared with a week ago, and the "
                   "engagement minutes behind them.")


@st.fragment(run_every=REFRESH_SECONDS)
def tiles() -> None:
    rows = load(q.TARGET_STAGES, what="The stage counts")
    if rows is None:
        return
    now = rows.iloc[0]
    targets = int(now["targets"])
    if targets == 0:
        empty("No target accounts yet. Import your list with `pulse accounts import accounts.csv`, "
              "or start with `pulse up --demo` to see sample data.")
        freshness()
        return
    before = quiet(q.TARGET_STAGES_WEEK_AGO)
    then = before.iloc[0].to_dict() if before is not None and not before.empty else None
    cols = st.columns(4)
    cols[0].metric("Target accounts", f"{targets:,}", border=True,
                   help="Accounts on the target list (`pulse accounts import`)")
    for tile, key, label, rule in (
        (cols[1], "aware", "Aware", "Any engagement in the last 90 days (stage as last evaluated)"),
        (cols[2], "engaged", "Engaged", "At least 10 engagement minutes in 90 days (stage as last evaluated)"),
        (cols[3], "mqa", "MQA", "Marketing-qualified: at least 100 minutes and 2 people with 20+ minutes "
                                "each, in 90 days (stage as last evaluated)"),
    ):
        value = int(now[key])
        delta = week_delta(value, then, key)
        tile.metric(f"{label} · {share(value, targets)}", f"{value:,}", delta=delta, border=True, help=rule,
                    delta_description="vs 7 days ago" if delta is not None else None)
    sums = load(q.TARGET_MINUTES, what="This month's minutes")
    if sums is not None:
        mtd, ytd = st.columns(2)
        mtd.metric("Minutes this month (target accounts)", minutes(float(sums.iloc[0]["minutes_mtd"] or 0)),
                   border=True, help="Engagement minutes of target accounts since the first of the month")
        ytd.metric("Minutes this year (target accounts)", minutes(float(sums.iloc[0]["minutes_ytd"] or 0)),
                   border=True, help="Engagement minutes of target accounts since January 1")
    if then is not None and week_delta(0, then, "mqa") is None:
        st.caption("The change against 7 days ago appears once the stage history is a week old.")
    freshness()


JOURNEY = (("customer", "Customers", "A closed-won new business or renewal opportunity, and no renewal lost since"),
           ("opportunity", "Opportunity", "Not a customer, with an open opportunity"),
           ("not_interested", "Not interested", "No customer or open opportunity; sales' latest decision on it is "
                                                 "not_interested (not reopened since)"),
           ("mqa", "MQA", "No customer or open opportunity; marketing-qualified today"),
           ("engaged", "Engaged", "No customer or open opportunity; engaged today"),
           ("aware", "Aware", "No customer or open opportunity; aware today"),
           ("unaware", "Unaware", "No customer or open opportunity, and no engagement in 90 days"))


def journey() -> bool:
    """Target accounts per journey stage: where engagement has led, in one row (whether there was one)."""
    rows = quiet(q.TARGET_JOURNEY)
    if rows is None or rows.empty:
        return False
    targets = int(rows["accounts"].sum())
    counts = dict(zip(rows["journey_stage"], rows["accounts"].astype(int)))
    st.markdown("**Journey of the target accounts** · each counted once, at the furthest step it reached")
    for col, (key, label, rule) in zip(st.columns(len(JOURNEY)), JOURNEY):
        col.metric(label, f"{counts.get(key, 0):,}", border=True,
                   help=f"{rule} (account_journey). {share(counts.get(key, 0), targets)}")
    return True


def quarter() -> bool:
    """This quarter's pipeline created and won revenue of the target accounts, beside the engagement tiles;
    whether there are opportunities to show (the report may not have computed them yet)."""
    any_deal = quiet(qr.OPPORTUNITY_COUNT)
    if any_deal is None or not int(any_deal.iloc[0]["snapshots"]):
        return False
    rows = quiet(qr.QUARTER_REVENUE)
    if rows is None or rows.empty:  # revenue_summary before its first computation: the as-of line says so
        return True
    r, currency = rows.iloc[0], settings().currency
    created, won = st.columns(2)
    created.metric("Pipeline created this quarter (target accounts)", money(r["pipeline_created_amount"], currency),
                   border=True, help=f"{int(r['pipeline_created_count']):,} opportunities of target accounts created "
                                     "since the first day of the quarter, at their current amount (revenue_summary)")
    won.metric("Won revenue this quarter (target accounts)", money(r["won_amount"], currency), border=True,
               help=f"{int(r['won_count']):,} opportunities of target accounts now closed-won with a close date "
                    "since the first day of the quarter (revenue_summary)")
    return True


# The quarter and journey tiles read summary reports the engine recomputes every minute by default
# (0900_reports.sql): once a minute, with the time they are exact as of.
@st.fragment(run_every=60)
def summaries() -> None:
    shown = [name for name, drawn in (("revenue_summary", quarter()), ("account_journey", journey())) if drawn]
    if shown:
        reports_as_of(tuple(shown))


tiles()
summaries()

st.subheader("Where the minutes come from")
toggle_col, period_col, _ = st.columns([1, 1, 2], vertical_alignment="center")
with toggle_col:
    st.toggle("Target accounts only", value=True, key="overview_targets_only",
              help="Off: other registered accounts and unresolved visitors count in the charts too")
with period_col:
    st.segmented_control("Period", (30, 90), default=30, key="overview_days", format_func=lambda d: f"{d} days")


@st.fragment(run_every=REFRESH_SECONDS)
def charts() -> None:
    # Read the filters from session state: they live outside this fragment, so a refresh keeps them.
    targets_only = st.session_state.get("overview_targets_only", True)
    period = st.session_state.get("overview_days") or 30
    trend = load(q.MINUTES_BY_CHANNEL if targets_only else q.MINUTES_BY_CHANNEL_ALL, {"days": period},
                 what="The channel chart")
    if trend is None:
        return
    if trend.empty:
        empty("No engagement minutes in this period yet: touches appear here within seconds of arriving.")
        return
    who = "target accounts" if targets_only else "all traffic"
    chart(minutes_by_channel_chart(trend, f"Engagement minutes per day by channel, {who}, last {period} days"))


charts()
