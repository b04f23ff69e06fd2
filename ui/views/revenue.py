"""Revenue: the pipeline and revenue of the CRM's opportunities, this month, quarter and year, the open
pipeline by stage, and sales velocity (the views of sinks/migrations/0400_revenue_views.sql)."""
from __future__ import annotations

from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st

from ui import queries as q
from ui.components import chart, empty, freshness, header, load
from ui.db import settings
from ui.format import days, money, rate

header("Revenue", "Did engagement turn into pipeline and revenue? Opportunities from your CRM, in the "
                  "reporting currency, by the date each figure names (reporting time zone).")

# The revenue views evaluate every stored snapshot (~0.3-1 s each at 1,000,000 snapshots on one core) and a
# CRM changes its opportunities by the minute, not the second: this page refreshes every 30 s, not every 5.
REVENUE_REFRESH_SECONDS = 30
PERIODS = (("mtd", "Month to date", "MTD"), ("qtd", "Quarter to date", "QTD"), ("ytd", "Year to date", "YTD"))
HOW_TO_SEND = ("No opportunities yet. Post your CRM's opportunity snapshots to the signed webhook `/hooks/crm` "
               "(or `POST /hooks/events`), send a file of them with `pulse send opportunities.jsonl`, or start "
               "with `pulse up --demo` to see sample data. Each snapshot is the whole opportunity as the CRM "
               "holds it when it changes; the latest one is its state.")

st.toggle("Target accounts only", value=True, key="revenue_targets_only",
          help="Off: every opportunity counts, those of other and of unregistered accounts too")


@st.fragment(run_every=REVENUE_REFRESH_SECONDS)
def revenue() -> None:
    count = load(q.OPPORTUNITY_COUNT, what="Revenue")
    if count is None:
        return
    if int(count.iloc[0]["snapshots"]) == 0:
        empty(HOW_TO_SEND)
        freshness(REVENUE_REFRESH_SECONDS)
        return
    audience = "target" if st.session_state.get("revenue_targets_only", True) else "all"
    currency = settings().currency
    periods(audience, currency)
    open_pipeline(audience, currency)
    velocity(currency)
    freshness(REVENUE_REFRESH_SECONDS)


def periods(audience: str, currency: str) -> None:
    who = "target accounts" if audience == "target" else "all accounts"
    st.subheader(f"This month, quarter and year · {who}")
    rows = load(q.REVENUE_PERIODS, {"audience": audience}, what="The revenue summary")
    if rows is None:
        return
    by_period = {r["period"]: r for _, r in rows.iterrows()}
    for col, (key, title, short) in zip(st.columns(3), PERIODS):
        r = by_period.get(key)
        if r is None:
            continue
        with col:
            st.markdown(f"**{title}**")
            st.metric(f"Pipeline created, {short}", money(r["pipeline_created_amount"], currency), border=True,
                      help=f"{int(r['pipeline_created_count']):,} opportunities whose created date is in the "
                           "period, at their current amount")
            st.metric(f"Won revenue, {short}", money(r["won_amount"], currency), border=True,
                      help=f"{int(r['won_count']):,} opportunities now closed-won whose close date is in the period")
            st.metric(f"Win rate, {short}", rate(r["win_rate"]), border=True,
                      help=f"Won ÷ (won + lost) by close date in the period ({int(r['won_count'])} won, "
                           f"{int(r['lost_count'])} lost); empty when nothing closed")
            st.metric(f"Average deal size, {short}", money(r["avg_deal_size"], currency), border=True,
                      help="Won amount ÷ won count, by close date in the period")
            st.metric(f"Sales cycle, {short}", days(r["avg_cycle_days"]), border=True,
                      help=f"Average days from created to closed of the opportunities won in the period "
                           f"(median {days(r['median_cycle_days'])})")


def open_pipeline(audience: str, currency: str) -> None:
    st.subheader("Open pipeline by stage")
    rows = load(q.OPEN_PIPELINE, {"audience": audience}, what="The open pipeline",
                none="No open opportunities right now.")
    if rows is None:
        return
    total, weighted = st.columns(2)
    total.metric("Open pipeline", money(sum(_dec(v) for v in rows["open_amount"]), currency), border=True,
                 help=f"{int(rows['open_count'].sum()):,} open opportunities at their current amount")
    weighted.metric("Weighted open pipeline", money(sum(_dec(v) for v in rows["weighted_open_amount"]), currency),
                    border=True, help="Amount × probability ÷ 100 of the open opportunities that carry a "
                                      "probability; one without adds nothing")
    frame = pd.DataFrame({"stage": rows["stage"], "open_amount": [float(_dec(v)) for v in rows["open_amount"]],
                          "open_count": rows["open_count"].astype(int)})
    order = frame["stage"].tolist()  # the query's order: the least likely stage first, a funnel
    chart(alt.Chart(frame, title=f"Open pipeline by stage ({currency}), least likely stage first")
          .mark_bar(color="#4C78A8")
          .encode(x=alt.X("open_amount:Q", title=f"Open amount ({currency})"),
                  y=alt.Y("stage:N", title=None, sort=order, axis=alt.Axis(labelLimit=260)),
                  tooltip=[alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("open_count:Q", title="Open"),
                           alt.Tooltip("open_amount:Q", title="Amount", format=",.2f")])
          .properties(height=alt.Step(34)))
    table = rows.assign(**{c: [float(_dec(v)) for v in rows[c]] for c in ("open_amount", "weighted_open_amount")})
    st.dataframe(table, hide_index=True, width="stretch",
                 column_config={"stage": "Stage", "open_count": "Open",
                                "open_amount": st.column_config.NumberColumn(f"Amount ({currency})", format="localized"),
                                "weighted_open_amount": st.column_config.NumberColumn(f"Weighted ({currency})",
                                                                                      format="localized"),
                                "without_probability": "Without probability",
                                "avg_probability": "Average probability (%)"})


def velocity(currency: str) -> None:
    st.subheader("Sales velocity · all accounts, last 365 days")
    rows = load(q.SALES_VELOCITY, what="Sales velocity")
    if rows is None or rows.empty:
        return
    v = rows.iloc[0]
    cols = st.columns(4)
    cols[0].metric("Sales velocity per day", money(v["velocity_per_day"], currency), border=True,
                   help="Open opportunities × win rate × average deal size ÷ average sales cycle, the last three "
                        "over the last 365 days: the revenue the open pipeline brings in per day at that pace")
    cols[1].metric("Win rate, 365 days", rate(v["win_rate_365d"]), border=True,
                   help="Won ÷ (won + lost) by close date, today and the 364 days before")
    cols[2].metric("Average deal size, 365 days", money(v["avg_deal_size_365d"], currency), border=True,
                   help="Won amount ÷ won count by close date, the last 365 days")
    cols[3].metric("Sales cycle, 365 days", days(v["avg_cycle_days_365d"]), border=True,
                   help="Average days from created to closed of the opportunities won in the last 365 days")
    st.caption(f"{int(v['open_count']):,} open opportunities · retention of renewals, 365 days: "
               f"{rate(v['retention_365d'])} (renewals won ÷ renewals closed)")


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value is not None and not pd.isna(value) else Decimal(0)


revenue()
