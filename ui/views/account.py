"""Account: one account's story: minutes over time, channel mix, the people engaged, coverage of the
buying committee, stage history, the latest touches, and its CRM opportunities with their stage history."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui import queries as q
from ui import queries_funnel as qf
from ui import queries_revenue as qr
from ui import queries_sales as qs
from ui.components import (REFRESH_SECONDS, chart, data_table, empty, freshness, header, load, minutes_by_channel_chart,
                           quiet, reports_as_of)
from ui.db import settings
from ui.format import MONEY_FORMAT, STAGE_LABELS, minutes, money, web_link

header("Account", "One account's story: who engaged, on which channels, and how its stage moved.")

# The account comes from the link on the Accounts page (?account=...) or from the search below.
wanted = st.query_params.get("account", "")
search = st.text_input("Find an account", key="account_search", placeholder="Name or id")
found = load(q.ACCOUNT_SEARCH, {"search": search.strip()}, what="The account list")
if found is None:
    st.stop()
if found.empty:
    empty("No account matches this search." if search.strip() else
          "No accounts yet. Import your list with `pulse accounts import accounts.csv`, or start with "
          "`pulse up --demo`.")
    st.stop()
labels = dict(zip(found["account_id"], found["account_name"]))
options = list(labels)
if wanted and wanted not in labels and not search.strip():
    summary = quiet(q.ACCOUNT_SUMMARY, {"account": wanted})
    if summary is not None and not summary.empty:
        labels[wanted] = summary.iloc[0]["account_name"]
        options.insert(0, wanted)
account = st.selectbox("Account", options, index=options.index(wanted) if wanted in options else 0,
                       key="account_selected", format_func=lambda a: f"{labels[a]} ({a})")
if account != wanted:
    st.query_params["account"] = account


@st.fragment(run_every=REFRESH_SECONDS)
def story(account: str) -> None:
    summary = load(q.ACCOUNT_SUMMARY, {"account": account}, what="The account summary")
    if summary is None:
        return
    if summary.empty:
        empty("This account is not in the registry (any more).")
        return
    headline(summary.iloc[0])
    minutes_charts(account)
    people_col, side_col = st.columns([2, 1])
    with people_col:
        people(account)
    with side_col:
        committee(account)
        stage_history(account)
    latest_touches(account)


def headline(a) -> None:
    flags = [label for key, label in (("surging", ":material/local_fire_department: surging"),
                                      ("re_engaged", ":material/replay: re-engaged")) if int(a[key])]
    st.markdown(f"### {a['account_name']}  \n"
                f"{'Target account' if int(a['is_target']) else 'Not on the target list'} · tier {a['tier'] or '–'} · "
                f"owner {a['owner'] or 'unassigned'}" + (" · " + " · ".join(flags) if flags else ""))
    cols = st.columns(5)
    cols[0].metric("Stage (90 days)", STAGE_LABELS.get(a["stage"], a["stage"]), border=True)
    cols[1].metric("Minutes, 7 days", minutes(a["minutes_7d"]), border=True)
    cols[2].metric("Minutes, 30 days", minutes(a["minutes_30d"]), border=True)
    cols[3].metric("Minutes, 90 days", minutes(a["minutes_90d"]), border=True)
    cols[4].metric("People engaged", int(a["people_engaged_90d"]), border=True, help="People with minutes in 90 days")
    freshness()


def minutes_charts(account: str) -> None:
    daily = load(q.ACCOUNT_DAILY, {"account": account}, what="The minutes chart")
    if daily is None:
        return
    if daily.empty:
        empty("No engagement in the last 90 days.")
        return
    left, right = st.columns([2, 1])
    with left:
        chart(minutes_by_channel_chart(daily, "Engagement minutes per day, last 90 days"))
    with right:
        mix = daily.groupby("channel", as_index=False)["minutes"].sum()
        chart(alt.Chart(mix, title="Channel mix, 90 days").mark_arc(innerRadius=50)
              .encode(theta=alt.Theta("minutes:Q"), color=alt.Color("channel:N", title="Channel",
                                                                    scale=alt.Scale(scheme="tableau10")),
                      tooltip=[alt.Tooltip("channel:N", title="Channel"),
                               alt.Tooltip("minutes:Q", title="Minutes", format=",.1f")])
              .properties(height=300))


def people(account: str) -> None:
    st.subheader("People engaged")
    found = load(q.ACCOUNT_PEOPLE, {"account": account}, what="The people list",
                 none="Nobody at this account has engaged in the last 90 days.")
    if found is not None:
        stages = quiet(qf.ACCOUNT_PEOPLE_STAGES, {"account": account})  # the CRM's lifecycle stage, when known
        if stages is not None:
            found = found.merge(stages, on="person", how="left")
        data_table(found, column_config={
            "person": "Person", "name": "Name", "title": "Title", "role": "Buying role",
            "minutes_7d": st.column_config.NumberColumn("Minutes 7 d", format="%.1f"),
            "minutes_30d": st.column_config.NumberColumn("Minutes 30 d", format="%.1f"),
            "minutes_90d": st.column_config.NumberColumn("Minutes 90 d", format="%.1f"),
            "touches_90d": st.column_config.NumberColumn("Touches 90 d"),
            "last_activity_day": st.column_config.DateColumn("Last active"),
            "lifecycle_stage": st.column_config.TextColumn(
                "Lifecycle stage", help="The person's current stage in the CRM (the latest lifecycle change); "
                                      "empty when the CRM sent none"),
        })


def committee(account: str) -> None:
    st.subheader("Buying committee")
    coverage = load(q.ACCOUNT_COVERAGE, {"account": account}, what="Coverage",
                    none="No coverage figures for this account yet.")
    if coverage is None:
        return
    c = coverage.iloc[0]
    size, known = c["committee_size"], int(c["contacts_known"])
    if size is None or str(size) in ("nan", "<NA>", "None"):
        st.metric("Contacts known", known, border=True, help="Committee size unknown for this account")
        return
    pct = float(c["coverage_pct"])
    st.metric("Contacts known", f"{known} of {int(size)}", border=True,
              help="Known contacts against the expected buying committee")
    st.progress(min(1.0, pct / 100), text=f"{pct:.0f}% of the buying committee")


def stage_history(account: str) -> None:
    st.subheader("Stage history")
    history = load(q.ACCOUNT_STAGE_HISTORY, {"account": account}, what="Stage history",
                   none="No stage change recorded yet.")
    if history is not None:
        history["change"] = (history["stage_from"].map(STAGE_LABELS).fillna(history["stage_from"]) + " → "
                             + history["stage_to"].map(STAGE_LABELS).fillna(history["stage_to"]))
        data_table(history[["changed_at", "change"]], column_config={
            "changed_at": st.column_config.DatetimeColumn("When", format="D MMM YYYY, HH:mm"), "change": "Change"})


def latest_touches(account: str) -> None:
    st.subheader("Latest touches")
    timeline = load(q.ACCOUNT_TIMELINE, {"account": account}, what="The timeline",
                    none="No touches in the last 90 days.")
    if timeline is not None:
        timeline["url"] = timeline["url"].map(web_link)  # only http(s) pages become links (format.web_link)
        data_table(timeline, column_config={
            "occurred_at": st.column_config.DatetimeColumn("When", format="D MMM, HH:mm:ss"),
            "type": "Touch", "channel": "Channel", "person": "Person",
            "minutes": st.column_config.NumberColumn("Minutes", format="%.2f"),
            "program_id": "Program", "url": st.column_config.LinkColumn("Page"),
            "method": st.column_config.TextColumn("Found by", help="How the touch was tied to the account"),
            "traffic": st.column_config.TextColumn(
                "Traffic", help="person, or who else made it: bot, scanner (mail security), privacy_proxy "
                              "(Apple Mail Privacy Protection) or internal (our own people); those count 0 minutes"),
            "traffic_reason": st.column_config.TextColumn("Why", help="The rule that classified it (see Data health)"),
        })


# The opportunity views read every stored snapshot (see the Revenue page): every 30 s, not every 5.
@st.fragment(run_every=30)
def opportunities(account: str) -> None:
    st.subheader("Opportunities")
    deals = load(qr.ACCOUNT_OPPORTUNITIES, {"account": account}, what="The opportunities",
                 none="No CRM opportunity for this account yet (they arrive on the signed `/hooks/crm` or "
                      "with `pulse opportunities import`).")
    if deals is None:
        return
    currency = settings().currency
    is_open = deals["status"] == "open"
    cols = st.columns(3)
    cols[0].metric("Open pipeline", money(sum(deals.loc[is_open, "amount"]), currency), border=True,
                   help=f"{int(is_open.sum())} open opportunities at their current amount")
    cols[1].metric("Won", money(sum(deals.loc[deals["status"] == "won", "amount"]), currency), border=True,
                   help="Every closed-won opportunity of the account, any close date")
    cols[2].metric("Lost", f"{int((deals['status'] == 'lost').sum())}", border=True,
                   help="Closed-lost opportunities")
    data_table(deals.assign(amount=[float(v) for v in deals["amount"]]), column_config={
        "opportunity_id": "Id", "name": "Name", "stage": "Stage", "status": "Status",
        "amount": st.column_config.NumberColumn(f"Amount ({currency})", format=MONEY_FORMAT),
        "type": "Type", "created_at": st.column_config.DatetimeColumn("Created", format="D MMM YYYY"),
        "close_date": st.column_config.DateColumn("Close date"), "owner": "Owner",
        "probability": st.column_config.NumberColumn("Probability (%)"),
        "cycle_days": st.column_config.NumberColumn("Cycle (days)",
                                                    help="Close date − created, closed only")})
    stages = load(qr.ACCOUNT_OPPORTUNITY_STAGES, {"account": account}, what="The stage history")
    if stages is not None and not stages.empty:
        st.markdown("**Stage history of these opportunities** · each visit to a stage, from the CRM's snapshots")
        data_table(stages.assign(days_in_stage=[None if v is None or pd.isna(v) else float(v)
                                                for v in stages["days_in_stage"]]),
                   column_config={
                       "opportunity_id": "Id", "stage": "Stage",
                       "entered_at": st.column_config.DatetimeColumn("Entered", format="D MMM YYYY, HH:mm"),
                       "left_at": st.column_config.DatetimeColumn("Left", format="D MMM YYYY, HH:mm",
                                                                  help="Empty while it is the current stage"),
                       "days_in_stage": st.column_config.NumberColumn("Days in stage", format="%.2f")})


def sales(account: str) -> None:
    """Sales' latest decision on the account, its coverage and the reps' activity there (90 days)."""
    st.subheader("Sales")
    found = load(qs.ACCOUNT_SALES, {"account": account}, what="The sales status")
    if found is None or found.empty:
        return
    s = found.iloc[0]
    decision = (f"Sales' decision: **{s['status'].replace('_', ' ')}**" + (f" ({s['reason']})" if s["reason"] else "")
                + (f" by {s['decided_by']}" if s["decided_by"] else "") if s["status"] else "No decision from sales yet")
    covered = "covered: sales activity in the last 30 days" if int(s["covered"]) else \
        f"not covered: {s['coverage_reason'].replace('_', ' ').replace('30d', 'in 30 days')}"
    st.markdown(f"{decision} · {covered}")
    reports_as_of(qs.ACCOUNT_SALES_REPORTS)  # the coverage and the activity below are summary reports
    activity = load(qs.ACCOUNT_SALES_ACTIVITY, {"account": account}, what="The sales activity",
                    none="No calls, meetings or sales emails here in 90 days.")
    if activity is not None:
        data_table(activity.assign(rep=activity["rep"].replace("", "(no rep)")), column_config={
            "rep": "Rep", "calls": "Calls", "connected_calls": "Connected", "conversations": "Conversations",
            "meetings_booked": "Meetings booked", "meetings_held": "Meetings held", "emails_out": "Emails sent",
            "emails_in": "Replies"})


story(account)
opportunities(account)
sales(account)
