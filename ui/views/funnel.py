"""Funnel: the people of the CRM's lifecycle, lead to customer: month to date beside year to date, the stage
funnel with next-step and cumulative conversion (cohort or period counting), time in stage, the split by
lead source and the visit-to-lead rate (views of sinks/migrations/0500_funnel_views.sql)."""
from __future__ import annotations

from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st

from ui import queries_funnel as q
from ui.components import chart, data_table, empty, freshness, header, load, quiet, reports_as_of
from ui.format import rate

header("Funnel", "How many people became leads, MQLs, SQLs, opportunities and customers, how fast, and from "
                 "which source: the CRM's lifecycle stages (reporting time zone; a stage skipped counts as "
                 "reached with the next one).")

# The funnel views are reports the engine recomputes in the background (0900_reports.sql); a CRM moves people
# by the minute: every 30 s.
FUNNEL_REFRESH_SECONDS = 30
PERIODS = {"mtd": "Month to date", "qtd": "Quarter to date", "ytd": "Year to date", "90d": "Last 90 days",
           "365d": "Last 365 days"}
HEADLINE = (("lead", "New leads"), ("mql", "New MQLs"), ("sql", "New SQLs"), ("customer", "New customers"))
HEADLINE_HELP = ("New leads, MQLs, SQLs, customers: people who first reached the stage in the period (a skipped "
                 "stage counts as reached with the next one). Visitors: distinct people (emails or cookies) with a "
                 "page view in the period. Visit-to-lead rate: new leads ÷ visitors. Lead → customer: of the people "
                 "who first became leads in the period, the share that has become a customer by now.")
HOW_TO_SEND = ("No lifecycle stages yet. Import your CRM's history with `pulse lifecycle import contacts.csv "
               "--from hubspot` (or `--from salesforce`, or the contract's columns), post `lifecycle_change` "
               "events to the signed webhook `/hooks/crm` as the CRM changes a stage, or start with "
               "`pulse up --demo` to see sample data.")
COHORT_HELP = ("Cohort (HubSpot's \"all stages\"): of the people who first reached a stage in the period, the "
               "share that has reached the next stage by now (any time, even after the period). Period counts "
               "(\"any stage\"): how many people first reached each stage in the period, whenever they entered "
               "the funnel.")
SOURCE_HELP = ("The source of the person's first lifecycle change (marketing, sales, partner, ...); a later "
               "change never moves a person to another source.")

sources = quiet(q.FUNNEL_SOURCES)
choices = ["all", *([s for s in sources["source"]] if sources is not None and not sources.empty else [])]
left, middle, right = st.columns(3)
left.selectbox("Lead source", choices, key="funnel_source", help=SOURCE_HELP,
               format_func=lambda s: "All sources" if s == "all" else s or "(none given)")
middle.selectbox("Period of the funnel below", list(PERIODS), index=2, key="funnel_period",
                 format_func=PERIODS.get)
right.radio("Count by", ["cohort", "period"], key="funnel_mode", horizontal=True, help=COHORT_HELP,
            format_func={"cohort": "Cohort (all stages)", "period": "Period (any stage)"}.get)


@st.fragment(run_every=FUNNEL_REFRESH_SECONDS)
def funnel() -> None:
    count = load(q.LIFECYCLE_COUNT, what="The funnel")
    if count is None:
        return
    if int(count.iloc[0]["changes"]) == 0:
        empty(HOW_TO_SEND)
        freshness(FUNNEL_REFRESH_SECONDS)
        return
    reports_as_of(q.FUNNEL_REPORTS)
    source = st.session_state.get("funnel_source", "all")
    counts = load(q.FUNNEL_COUNTS, {"source": source}, what="The period counts")
    steps = load(q.FUNNEL_STEPS, {"source": source}, what="The conversion")
    if counts is None or steps is None:
        return
    if counts.empty:  # lifecycle changes arrived after the report's last computation: they count from the next
        empty("The lifecycle changes that arrived are not in the funnel's figures yet: they count from the next "
              "recomputation of the reports (the time above).")
        freshness(FUNNEL_REFRESH_SECONDS)
        return
    headline(counts, steps)
    period = st.session_state.get("funnel_period", "ytd")
    if counts[counts["period"] == period].empty:  # this source's people all entered before the last 365 days
        empty("Nobody of this source reached a stage in the last 365 days.")
    else:
        stages(counts[counts["period"] == period], steps[steps["period"] == period], period)
    by_source(period)
    freshness(FUNNEL_REFRESH_SECONDS)


def _step(steps: pd.DataFrame, period: str, start: str, end: str):
    found = steps[(steps["period"] == period) & (steps["from_stage"] == start) & (steps["to_stage"] == end)]
    return None if found.empty else found.iloc[0]


def headline(counts: pd.DataFrame, steps: pd.DataFrame) -> None:
    """The articles' dashboard: the month beside the year, one row per figure."""
    st.subheader("This month beside this year", help=HEADLINE_HELP)
    columns: dict[str, list[str]] = {"Figure": [*(label for _, label in HEADLINE), "Visitors", "Visit-to-lead rate",
                                                "Lead → customer (cohort)"]}
    for period in ("mtd", "ytd"):
        rows = counts[counts["period"] == period].set_index("stage")
        lead = rows.loc["lead"] if "lead" in rows.index else None
        visitors = None if lead is None or pd.isna(lead["visitors"]) else int(lead["visitors"])
        cumulative = _step(steps, period, "lead", "customer")
        columns[PERIODS[period]] = [
            *(f"{int(rows.loc[stage, 'reached']) if stage in rows.index else 0:,}" for stage, _ in HEADLINE),
            f"{visitors or 0:,}", rate(None if lead is None else lead["visit_to_lead_rate"]),
            rate(None if cumulative is None else cumulative["conversion_rate"])]
    data_table(pd.DataFrame(columns), column_config={
        "Figure": st.column_config.TextColumn("Figure", width="medium"),
        "Month to date": st.column_config.TextColumn("Month to date", help="From the first of this month, today "
                                                                         "included"),
        "Year to date": st.column_config.TextColumn("Year to date", help="From the first of January, today included")})


def _ratio(part: int, whole: int) -> float | None:
    return None if not whole else round(100 * part / whole, 2)


def _rows(counts: pd.DataFrame, steps: pd.DataFrame, mode: str) -> pd.DataFrame:
    """One row per stage: the period count, the conversion by the mode, and the time in stage."""
    nxt = steps[steps["next_step"] == 1].set_index("from_stage")
    from_lead = steps[steps["from_stage"] == "lead"].set_index("to_stage")
    reached = dict(zip(counts["stage"], counts["reached"].astype(int)))
    rows = []
    for stage in counts.sort_values("position")["stage"]:
        step = nxt.loc[stage] if stage in nxt.index else None
        cum = from_lead.loc[stage] if stage in from_lead.index else None
        after = None if step is None else step["to_stage"]
        if mode == "cohort":
            next_rate = _pct(None if step is None else step["conversion_rate"])
            lead_rate = _pct(None if cum is None else cum["conversion_rate"])
        else:  # period: this period's counts against each other
            next_rate = None if after is None else _ratio(reached.get(after, 0), reached[stage])
            lead_rate = None if cum is None else _ratio(reached[stage], reached.get("lead", 0))
        rows.append({"stage": stage, "reached": reached[stage], "next_stage": after or "", "next_step": next_rate,
                     "from_lead": lead_rate, "avg_days": _num(None if step is None else step["avg_days"]),
                     "median_days": _num(None if step is None else step["median_days"]),
                     "moved_on": None if step is None else int(step["moved_on"])})
    return pd.DataFrame(rows)


RATE_HELP = {
    "cohort": ("Of the people who first reached the stage in the period, the share that has reached the next "
               "stage by now", "Of the people who first became leads in the period, the share that has reached "
                               "this stage by now"),
    "period": ("People who first reached the next stage in the period ÷ those who first reached this stage in it",
               "People who first reached this stage in the period ÷ those who first became leads in it"),
}


def stages(counts: pd.DataFrame, steps: pd.DataFrame, period: str) -> None:
    mode = st.session_state.get("funnel_mode", "cohort")
    st.subheader(f"Stage by stage · {PERIODS[period].lower()}", help=COHORT_HELP)
    table = _rows(counts, steps, mode)
    title = "People who first reached each stage in the period, and " + (
        "the share of them at the next stage by now (cohort)" if mode == "cohort" else
        "the next stage's count against it (period)")
    chart(alt.Chart(table, title=title).mark_bar(color="#4C78A8")
          .encode(x=alt.X("reached:Q", title="People"),
                  y=alt.Y("stage:N", title=None, sort=list(table["stage"])),
                  tooltip=[alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("reached:Q", title="People"),
                           alt.Tooltip("next_step:Q", title="Next step %", format=".2f"),
                           alt.Tooltip("from_lead:Q", title="From lead %", format=".2f")])
          .properties(height=alt.Step(30)))
    next_help, lead_help = RATE_HELP[mode]
    data_table(table, column_config={
        "stage": "Stage", "reached": st.column_config.NumberColumn(
            "Reached in period", help="People who first reached the stage in the period: the period count, and "
                                    "the cohort the conversion starts from"),
        "next_stage": "Next stage",
        "next_step": st.column_config.NumberColumn("Next step (%)", format="%.2f", help=next_help),
        "from_lead": st.column_config.NumberColumn("From lead (%)", format="%.2f", help=lead_help),
        "avg_days": st.column_config.NumberColumn("Time in stage, average (days)", format="%.2f",
                                                help="Days (seconds ÷ 86,400) from entering the stage to reaching "
                                                     "the next stage, over the people who moved on in the period; "
                                                     "a skipped stage has no time"),
        "median_days": st.column_config.NumberColumn("Median (days)", format="%.2f"),
        "moved_on": st.column_config.NumberColumn("Moved on", help="People who reached the next stage in the period "
                                                                  "after having been in this one")})
    timed = table.dropna(subset=["avg_days"])
    if not timed.empty:
        chart(alt.Chart(timed, title="Average time in stage (days)").mark_bar(color="#F58518")
              .encode(x=alt.X("avg_days:Q", title="Days"), y=alt.Y("stage:N", title=None, sort=list(table["stage"])),
                      tooltip=[alt.Tooltip("stage:N", title="Stage"), alt.Tooltip("avg_days:Q", title="Average"),
                               alt.Tooltip("median_days:Q", title="Median")])
              .properties(height=alt.Step(30)))


def by_source(period: str) -> None:
    st.subheader(f"By lead source · {PERIODS[period].lower()}", help=SOURCE_HELP)
    counts = load(q.FUNNEL_BY_SOURCE_COUNTS, {"period": period}, what="The split by source")
    steps = load(q.FUNNEL_BY_SOURCE_STEPS, {"period": period}, what="The split by source")
    if counts is None or steps is None or counts.empty:
        return
    wide = counts.pivot_table(index="source", columns="stage", values="reached", aggfunc="sum").fillna(0)
    table = pd.DataFrame({"source": [s or "(none given)" for s in wide.index]})
    for stage, label in HEADLINE:
        table[label] = [int(v) for v in wide[stage]] if stage in wide else 0
    for end, label in (("mql", "Lead → MQL (%)"), ("sql", "Lead → SQL (%)"), ("customer", "Lead → customer (%)")):
        rates = steps[(steps["from_stage"] == "lead") & (steps["to_stage"] == end)].set_index("source")
        table[label] = [_pct(rates.loc[s, "conversion_rate"]) if s in rates.index else None for s in wide.index]
    rates = {label: st.column_config.NumberColumn(label, format="%.2f") for label in table.columns
             if label.endswith("(%)")}
    data_table(table, column_config={"source": "Source", **rates})
    st.caption("New leads, MQLs, SQLs and customers are period counts; the rates follow each source's leads of the "
               "period (cohort).")


def _pct(value) -> float | None:
    return None if value is None or pd.isna(value) else float(Decimal(str(value)) * 100)


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


funnel()
