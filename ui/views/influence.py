"""Influence: does engagement move revenue (closed opportunities by how engaged their account was before
each was created), and which programs earned the pipeline (attribution by model and period). The views of
sinks/migrations/0600_influence_views.sql."""
from __future__ import annotations

from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st

from ui import queries as q
from ui import queries_influence as qi
from ui.components import chart, data_table, empty, freshness, header, load, reports_as_of
from ui.db import settings
from ui.format import MONEY_FORMAT, PERCENT_FORMAT, influence_headline

header("Influence", "Does engagement move revenue, and which programs earned the pipeline? Opportunities from "
                    "your CRM against the engagement and program touches pulse measured before each was created.")

# Like the Revenue page: both views are reports the engine recomputes in the background (0900_reports.sql), and
# a CRM changes by the minute, so every 30 s rather than every 5.
INFLUENCE_REFRESH_SECONDS = 30
MODELS = {"first_touch": "First touch", "last_touch": "Last touch", "linear": "Linear", "u_shaped": "U-shaped",
          "w_shaped": "W-shaped", "time_decay": "Time decay"}
PERIODS = {"mtd": "Month to date", "qtd": "Quarter to date", "ytd": "Year to date", "90d": "Last 90 days",
           "365d": "Last 365 days"}
MODEL_HELP = ("How an opportunity's amount is split over its touchpoints (its account's program successes in "
              "the attribution days before it was created, oldest first). First/last touch: all to the first/last. "
              "Linear: equal shares. U-shaped: 40 % first, 40 % last, 20 % shared by those between. W-shaped: "
              "30 % first, 30 % the touchpoint at which the account became MQA, 30 % last, 10 % the others (U "
              "without an MQA touchpoint). Time decay: weight halves every 7 days of age. Each share to the cent; "
              "the last touchpoint takes what is left, so the shares sum to the amount.")
SEGMENTS = {"q1": "Q1 · least engaged", "q2": "Q2", "q3": "Q3", "q4": "Q4 · most engaged",
            "engaged": "Engaged (10+ min)", "not_engaged": "Not engaged (< 10 min)"}
HOW_TO_SEND = ("No opportunities yet. Post your CRM's opportunity snapshots to the signed webhook `/hooks/crm` "
               "(or `POST /hooks/events`), send a file of them with `pulse send opportunities.jsonl`, import "
               "history with `pulse opportunities import`, or start with `pulse up --demo` to see sample data. "
               "This page then shows whether the most engaged accounts close faster, and which programs earned "
               "the pipeline.")

left, right = st.columns(2)
left.selectbox("Attribution model", list(MODELS), index=2, format_func=MODELS.get, key="influence_model",
               help=MODEL_HELP)
right.selectbox("Period", list(PERIODS), index=4, format_func=PERIODS.get, key="influence_period",
                help="Opportunities count in the period their created date falls in (reporting time zone)")


@st.fragment(run_every=INFLUENCE_REFRESH_SECONDS)
def influence() -> None:
    count = load(q.OPPORTUNITY_COUNT, what="Influence")
    if count is None:
        return
    if int(count.iloc[0]["snapshots"]) == 0:
        empty(HOW_TO_SEND)
        freshness(INFLUENCE_REFRESH_SECONDS)
        return
    reports_as_of(qi.INFLUENCE_REPORTS)
    currency = settings().currency
    engagement(currency)
    attribution(st.session_state.get("influence_model", "linear"), st.session_state.get("influence_period", "365d"),
                currency)
    freshness(INFLUENCE_REFRESH_SECONDS)


def engagement(currency: str) -> None:
    st.subheader("Do engaged accounts close faster? · closed in the last 365 days")
    rows = load(qi.INFLUENCE_SEGMENTS, what="Engagement influence")
    if rows is None:
        return
    st.markdown(f"**{influence_headline({r['segment']: r.to_dict() for _, r in rows.iterrows()})}**",
                help="Quartile 4 (the most engaged quarter of closed opportunities) against quartile 1: how much "
                     "shorter its average sales cycle of won opportunities is, and its win rate as a multiple of "
                     "quartile 1's. Shown from 8 closed opportunities on.")
    frame = rows.assign(label=rows["segment"].map(SEGMENTS),
                        win_pct=[_pct(v) for v in rows["win_rate"]],
                        cycle=[_num(v) for v in rows["avg_cycle_days"]])
    quartiles = frame[frame["segment"].str.startswith("q")]
    win, cycle = st.columns(2)
    with win:
        chart(_bars(quartiles, "win_pct", "Win rate (%)", "Win rate by engagement quartile", "#4C78A8"))
    with cycle:
        chart(_bars(quartiles, "cycle", "Days", "Sales cycle of won opportunities (days)", "#F58518"))
    table = frame[["label", "opportunities", "won", "win_pct", "avg_deal_size", "cycle", "min_minutes",
                   "max_minutes"]].assign(**{c: [_num(v) for v in frame[c]]
                                             for c in ("avg_deal_size", "min_minutes", "max_minutes")})
    data_table(table, column_config={
        "label": st.column_config.TextColumn("Segment", help="Quartiles of pre-opportunity minutes (ties by "
                                                           "opportunity id); engaged = 10 minutes or more"),
        "opportunities": st.column_config.NumberColumn("Closed", help="Opportunities closed (won or lost) with a "
                                                                    "close date in the last 365 days"),
        "won": st.column_config.NumberColumn("Won", help="Of them, closed-won"),
        "win_pct": st.column_config.NumberColumn("Win rate", format=PERCENT_FORMAT, help="Won ÷ closed"),
        "avg_deal_size": st.column_config.NumberColumn(f"Average deal size ({currency})", format=MONEY_FORMAT,
                                                     help="Won amount ÷ won count"),
        "cycle": st.column_config.NumberColumn("Sales cycle (days)", format="%.2f",
                                             help="Average days from created to closed of the won ones"),
        "min_minutes": st.column_config.NumberColumn("From (min)", format="%.2f", help="Fewest pre-opportunity "
                                                   "minutes in the segment"),
        "max_minutes": st.column_config.NumberColumn("To (min)", format="%.2f", help="Most pre-opportunity "
                                                   "minutes in the segment"),
    })
    st.caption("Pre-opportunity minutes: the account's engagement minutes (daily caps applied, as the Accounts "
               "page counts them) over the 90 days before the opportunity was created, that day excluded.")


def attribution(model: str, period: str, currency: str) -> None:
    st.subheader(f"Which programs earned the pipeline? · {MODELS[model]}, {PERIODS[period].lower()}")
    rows = load(qi.PROGRAM_ATTRIBUTION, {"model": model, "period": period}, what="Attribution")
    if rows is None:
        return
    if rows.empty or int(rows["influenced_opportunities"].sum()) == 0:
        empty("No program touched an opportunity created in this period yet. Attribution counts an account's "
              "program successes (email opens and clicks, attended events, connected calls, meetings, form "
              "submissions, page views with a program id) before the opportunity was created.")
        return
    money_cols = ("attributed_pipeline", "attributed_revenue", "influenced_pipeline", "sourced_pipeline", "cost")
    shown = rows.assign(program=[n or p for n, p in zip(rows["name"], rows["program_id"])],
                        roi_pct=[_pct(v) for v in rows["roi"]], **{c: [_num(v) for v in rows[c]] for c in money_cols})
    roi_chart(shown[shown["roi_pct"].notna()])
    attribution_table(shown, currency)
    csv = rows.assign(model=model, period=period).to_csv(index=False)
    st.download_button("Download CSV", csv, file_name=f"pulse-attribution-{model}-{period}.csv", mime="text/csv",
                       help="This table with exact amounts and ROI as a fraction, as program_attribution holds them")


def roi_chart(with_cost: pd.DataFrame) -> None:
    if not with_cost.empty:
        chart(alt.Chart(with_cost, title="Return on investment per program (%), programs with a cost")
              .mark_bar()
              .encode(x=alt.X("roi_pct:Q", title="ROI (%)"),
                      y=alt.Y("program:N", title=None, sort="-x", axis=alt.Axis(labelLimit=260)),
                      color=alt.condition("datum.roi_pct >= 0", alt.value("#54A24B"), alt.value("#E45756")),
                      tooltip=[alt.Tooltip("program:N", title="Program"),
                               alt.Tooltip("roi_pct:Q", title="ROI (%)", format=",.2f")])
              .properties(height=alt.Step(30)))


def attribution_table(shown: pd.DataFrame, currency: str) -> None:
    def money_col(title: str, text: str):
        return st.column_config.NumberColumn(title, format=MONEY_FORMAT, help=f"{text} ({currency})")

    columns = ["program", "attributed_pipeline", "attributed_revenue", "influenced_opportunities",
               "influenced_pipeline", "sourced_pipeline", "cost", "roi_pct"]
    data_table(shown[columns], column_config={
        "program": st.column_config.TextColumn("Program", help="The program's name (its id when unregistered)"),
        "attributed_pipeline": money_col("Attributed pipeline", "The program's shares, by this model, of the "
                                       "opportunities created in the period"),
        "attributed_revenue": money_col("Attributed revenue", "The same shares, of those now closed-won"),
        "influenced_opportunities": st.column_config.NumberColumn(
            "Influenced", help="Opportunities created in the period with at least one touchpoint of the program"),
        "influenced_pipeline": money_col("Influenced pipeline", "Their amounts, each counted fully (not split; "
                                       "the same for every model)"),
        "sourced_pipeline": money_col("Sourced pipeline", "Amounts of the opportunities whose lead source is "
                                    "marketing and whose first touchpoint is this program's"),
        "cost": money_col("Cost", "The program's cost (pulse programs import); empty when not given"),
        "roi_pct": st.column_config.NumberColumn("ROI", format=PERCENT_FORMAT,
                                               help="(Attributed revenue − cost) ÷ cost; empty without a cost"),
    })
    st.caption(f"Amounts in {currency}. Attributed figures depend on the model; influenced and sourced do not.")


def _bars(frame: pd.DataFrame, field: str, title: str, chart_title: str, color: str) -> alt.Chart:
    return (alt.Chart(frame, title=chart_title).mark_bar(color=color)
            .encode(x=alt.X("label:N", title=None, sort=None, axis=alt.Axis(labelAngle=0)),
                    y=alt.Y(f"{field}:Q", title=title),
                    tooltip=[alt.Tooltip("label:N", title="Segment"), alt.Tooltip(f"{field}:Q", title=title,
                                                                                   format=",.2f"),
                             alt.Tooltip("opportunities:Q", title="Closed")])
            .properties(height=260))


def _num(value) -> float | None:
    """A Decimal of the views as a number to draw (the CSV keeps the exact text); None when empty."""
    return float(Decimal(str(value))) if value is not None and not pd.isna(value) else None


def _pct(value) -> float | None:
    """A 4-decimal fraction of the views (win rate, ROI) as a percentage; None when empty."""
    return None if value is None or pd.isna(value) else float(Decimal(str(value)) * 100)


influence()
