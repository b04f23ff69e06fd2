"""Revenue: the pipeline and revenue of the CRM's opportunities, this month, quarter and year (with new
customers and CAC), the open pipeline by stage, won revenue per month against the goals with this
month's pace, and sales velocity with CLV (the views of sinks/migrations/0400_revenue_views.sql)."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import altair as alt
import pandas as pd
import streamlit as st

from ui import queries_revenue as q
from ui.components import chart, data_table, empty, freshness, header, load, reports_as_of
from ui.db import settings
from ui.format import MONEY_FORMAT, days, money, rate

header("Revenue", "Did engagement turn into pipeline and revenue? Opportunities from your CRM, in the "
                  "reporting currency, by the date each figure names (reporting time zone).")

# The revenue summaries are reports the engine recomputes in the background (0900_reports.sql; the "as of"
# line says when) and a CRM changes its opportunities by the minute: this page refreshes every 30 s, not every 5.
REVENUE_REFRESH_SECONDS = 30
PERIODS = (("mtd", "Month to date", "MTD"), ("qtd", "Quarter to date", "QTD"), ("ytd", "Year to date", "YTD"))
HOW_TO_SEND = ("No opportunities yet. Post your CRM's opportunity snapshots to the signed webhook `/hooks/crm` "
               "(or `POST /hooks/events`), send a file of them with `pulse send opportunities.jsonl`, or start "
               "with `pulse up --demo` to see sample data. Each snapshot is the whole opportunity as the CRM "
               "holds it when it changes; the latest one is its state.")

NO_GOALS = ("No goals yet. Import monthly targets with `pulse goals import goals.csv` (columns "
            "`month,metric,target`; metric one of `won_amount`, `pipeline_created_amount`, `new_customers`), "
            "e.g. `2026-03,won_amount,150000`; the chart then shows each month's goal and this month's pace.")
GOAL_METRICS = {"won_amount": "Won revenue", "pipeline_created_amount": "Pipeline created",
                "new_customers": "New customers"}

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
    reports_as_of(q.REVENUE_REPORTS)
    audience = "target" if st.session_state.get("revenue_targets_only", True) else "all"
    currency = settings().currency
    periods(audience, currency)
    open_pipeline(audience, currency)
    goals(currency)
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
            st.metric(f"New customers, {short}", f"{int(r['new_customers']):,}", border=True,
                      help="Accounts whose first closed-won new-business opportunity has its close date in the period")
            st.metric(f"CAC, {short}", money(r["cac"], currency), border=True,
                      help=f"Customer acquisition cost = spend ÷ new customers ({money(r['spend'], currency)} ÷ "
                           f"{int(r['new_customers'])}); spend = the cost of programs starting in the period plus "
                           "`pulse spend import` rows of the months beginning in it (the same spend for target "
                           "accounts and all); empty without a new customer")
    if all(_dec(r["spend"]) == 0 for r in by_period.values()):
        st.caption("No spend in these periods, so CAC is 0: it divides the cost of the programs (`pulse programs "
                   "import`, `cost` and `starts_at`) and the monthly spend of `pulse spend import spend.csv` "
                   "(`month,category,amount`: salaries, tools, agencies).")


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
    data_table(table, column_config={"stage": "Stage", "open_count": "Open",
                              "open_amount": st.column_config.NumberColumn(f"Amount ({currency})", format=MONEY_FORMAT),
                              "weighted_open_amount": st.column_config.NumberColumn(f"Weighted ({currency})",
                                                                                    format=MONEY_FORMAT),
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
               f"{rate(v['retention_365d'])} ({int(v['renewals_won'])} won of {int(v['renewals_closed'])} closed)")
    clv, lifetime, per_year, cac = st.columns(4)
    clv.metric("Customer lifetime value", money(v["clv"], currency), border=True,
               help="Average won revenue per customer per year × expected lifetime − CAC (365 days); empty "
                    "without a win or without a new customer in the last 365 days (CAC unknown)")
    lifetime.metric("Expected lifetime", f"{v['lifetime_years']} years", border=True,
                    help="1 ÷ (1 − retention of renewals over 365 days); PULSE_CUSTOMER_LIFETIME_YEARS when no "
                         "renewal closed or every one was won")
    per_year.metric("Won revenue per customer per year", money(v["revenue_per_customer_year"], currency),
                    border=True, help=f"Won amount of the last 365 days (every type) ÷ the "
                                      f"{int(v['won_customers_365d']):,} accounts that won it")
    cac.metric("CAC, 365 days", money(v["cac_365d"], currency), border=True,
               help="Spend of the last 365 days ÷ new customers in them, every account")


def goals(currency: str) -> None:
    st.subheader("Won revenue per month against the goals · all accounts")
    today = datetime.now(ZoneInfo(settings().reporting_tz)).date()
    this = today.replace(day=1)
    since = _months_before(this, 11)
    count, rows = load(q.GOAL_COUNT, what="The goals"), load(q.MONTHLY_GOALS, {"since": since}, what="The goals")
    if count is None or rows is None:
        return
    if int(count.iloc[0]["goals"]) == 0:
        empty(NO_GOALS)
    else:
        pace_tiles(this, currency)
    frame = pd.DataFrame({"month": [m.strftime("%Y-%m") for m in rows["month"]],
                          "won": [float(_dec(v)) for v in rows["won_amount"]],
                          "goal": [None if pd.isna(v) else float(v) for v in rows["won_goal"]]})
    base = alt.Chart(frame, title=f"Won revenue per month ({currency}) and its goal, last 12 months")
    bars = base.mark_bar(color="#4C78A8").encode(
        x=alt.X("month:O", title=None), y=alt.Y("won:Q", title=f"Won ({currency})"),
        tooltip=[alt.Tooltip("month:O", title="Month"), alt.Tooltip("won:Q", title="Won", format=",.2f"),
                 alt.Tooltip("goal:Q", title="Goal", format=",.2f")])
    ticks = base.mark_tick(color="#E45756", thickness=3, size=36).encode(x="month:O", y="goal:Q")
    chart(bars + ticks)
    st.caption("Bars: won revenue by close date; red marks: the month's `won_amount` goal.")


def pace_tiles(month: date, currency: str) -> None:
    rows = load(q.GOALS_THIS_MONTH, {"month": month}, what="This month's goals",
                none=f"No goals for {month:%B %Y} yet: add rows for {month:%Y-%m} to goals.csv and run "
                     "`pulse goals import goals.csv`.")
    if rows is None:
        return
    st.caption(f"{month:%B %Y} so far: each goal, the actual, and the pace against a straight line to the goal")
    for col, (_, g) in zip(st.columns(len(rows)), rows.iterrows()):
        label = GOAL_METRICS.get(g["metric"], g["metric"])
        on_pace = not pd.isna(g["pace"]) and _dec(g["pace"]) >= 1
        show = (lambda v: f"{int(v):,}") if g["metric"] == "new_customers" else (lambda v: money(v, currency))
        col.metric(f"{label} · goal {show(g['target'])}", show(g["actual"]), border=True,
                   delta=None if pd.isna(g["pace"]) else f"pace {rate(g['pace'])}",
                   delta_color="green" if on_pace else "orange", delta_arrow="up" if on_pace else "down",
                   help=f"Month-to-date pace = actual ÷ (goal × elapsed share of the month) = actual ÷ "
                        f"{show(g['expected_to_date'])} ({int(g['elapsed_days'])} of {int(g['days_in_month'])} "
                        "days, today included); 100% is on pace. Attainment "
                        f"{rate(g['attainment'])} of the whole month's goal")


def _months_before(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 - n
    return date(index // 12, index % 12 + 1, 1)


def _dec(value) -> Decimal:
    return Decimal(str(value)) if value is not None and not pd.isna(value) else Decimal(0)


revenue()
