"""Data health: is data flowing? Events per second, lag, freshness, the stage evaluations, the summary reports'
recomputation, dead letters and unresolved touches."""
from __future__ import annotations

import altair as alt
import streamlit as st

from ui import queries as q
from ui import queries_traffic as qt
from ui.components import REFRESH_SECONDS, chart, data_table, empty, freshness, header, load, quiet
from ui.db import settings
from ui.queries_stages import since_ms
from ui.format import age_seconds, ago, describe_reasons, duration, evaluation_scope, every, rebuild_progress, utc_now

header("Data health", "The health of the stream: how fast events come in and are stored, how far behind "
                      "the workers are, what was rejected and why, how much traffic matched no account, and how "
                      "much was not a person.")


@st.fragment(run_every=REFRESH_SECONDS)
def health() -> None:
    freshness()
    worker_health()
    stage_evaluation()
    summary_reports()
    dead_letters()
    unresolved_touches()
    traffic_classes()


def worker_health() -> None:
    st.subheader("Workers")
    workers = load(q.PIPELINE_WORKERS, what="Worker health",
                   none="No worker has reported in the last day. Is `pulse up` (or `pulse worker`) running?")
    if workers is not None:
        now = utc_now()
        cols = st.columns(4)
        cols[0].metric("Events in / s", f"{workers['events_in_per_s'].sum():,.0f}", border=True,
                       help="Read from Kafka, all workers")
        cols[1].metric("Events stored / s", f"{workers['events_out_per_s'].sum():,.0f}", border=True,
                       help="Written to ClickHouse, all workers")
        cols[2].metric("Consumer lag", f"{int(workers['consumer_lag'].sum()):,}", border=True,
                       help="Events waiting in Kafka, all workers")
        cols[3].metric("Oldest unstored event", f"{workers['oldest_unflushed_s'].max():.1f} s", border=True,
                       help="Age of the oldest event read but not yet in ClickHouse")
        workers["reported"] = [ago(age_seconds(t, now) or 0) for t in workers["reported_at"]]
        workers["state"] = ["ok" if s == "ok" else f"{s} (writes paused)" for s in workers["sink_state"]]
        data_table(workers,
                   column_order=("worker", "state", "broker_state", "events_in_per_s", "events_out_per_s",
                                 "consumer_lag", "oldest_unflushed_s", "dead_letters", "reported", "last_error"),
                   column_config={"worker": "Worker", "state": "ClickHouse", "broker_state": "Kafka",
                                  "events_in_per_s": st.column_config.NumberColumn("In / s", format="%.0f"),
                                  "events_out_per_s": st.column_config.NumberColumn("Stored / s", format="%.0f"),
                                  "consumer_lag": "Lag", "oldest_unflushed_s": st.column_config.NumberColumn(
                                      "Oldest unstored (s)", format="%.1f"),
                                  "dead_letters": "Dead letters", "reported": "Reported",
                                  "last_error": "Last error"})
        rates = load(q.PIPELINE_RATES, what="The rate chart")
        if rates is not None and not rates.empty:
            long = rates.melt("at", ["events_in_per_s", "events_out_per_s"], var_name="flow", value_name="rate")
            long["flow"] = long["flow"].map({"events_in_per_s": "in", "events_out_per_s": "stored"})
            chart(alt.Chart(long, title="Events per second, last 15 minutes").mark_line()
                  .encode(x=alt.X("at:T", title=None, axis=alt.Axis(format="%H:%M:%S")), y=alt.Y("rate:Q", title="Events / s"),
                          color=alt.Color("flow:N", title=None)).properties(height=220))


def stage_evaluation() -> None:
    """How often the leader decides stages and how long that takes: how late a stage change, and its alerts, can be."""
    st.subheader("Stage evaluation", help="One worker (the group's leader) re-decides the stage of every account "
                                          "whose engagement changed, and after midnight those the new day moves, a "
                                          "slice each evaluation (changed accounts first). A "
                                          "stage change, and its alerts, is published when the evaluation after its "
                                          "touch ends. The next evaluation waits at least 5 s and at least four times "
                                          "as long as the last one took (at most 60 s), so a large store is "
                                          "re-evaluated less often (stage_marks).")
    none = ("No stage evaluation ended in the last hour: the full one above is still under way." if rebuild_under_way()
            else "No stage evaluation in the last hour. Is a worker running? (Only the group's leader evaluates "
                 "stages.)")
    rows = load(q.STAGE_EVALUATIONS, since_ms(3600, utc_now().timestamp()), what="The stage evaluations", none=none)
    if rows is None:
        return
    row = rows.iloc[0]
    scope = evaluation_scope(row["last_kind"], int(row["last_decided"]), int(row["last_day_pending"]))
    cols = st.columns(4)
    cols[0].metric("Last evaluation", ago(age_seconds(row["last_at"], utc_now()) or 0), border=True, help=scope)
    cols[1].metric("It took", duration(row["last_took_ms"]), border=True, help=f"Accounts decided: {scope}")
    cols[2].metric("Evaluations, last hour", f"{int(row['evaluations']):,}", border=True,
                   help=f"Median {duration(row['median_took_ms'])}, longest {duration(row['max_took_ms'])}")
    cols[3].metric("Stage-change delay, worst", duration(row["max_gap_ms"] + row["max_took_ms"]), border=True,
                   help="Over the last hour: the longest gap between two evaluations plus the longest evaluation. "
                        "A stage change was published at most this long after its touch was stored.")


def rebuild_under_way() -> bool:
    """A full evaluation's progress, if one is under way: on a large store it takes minutes, and no stage
    changes meanwhile."""
    rows = quiet(q.STAGE_REBUILD)
    if rows is None or rows.empty:
        return False
    row = rows.iloc[0]
    share, text = rebuild_progress(int(row["slices"]), bool(row["refold"]), int(row["days_done"]),
                                   int(row["people_done"]), int(row["decide_done"]))
    now = utc_now()
    st.progress(share, text=f"A full evaluation is under way, begun {ago(age_seconds(row['begun_at'], now) or 0)}: "
                            f"{text} (the last {ago(age_seconds(row['last_step_at'], now) or 0)}). Stage changes and "
                            "alerts wait for it to end. A worker stopped meanwhile resumes it where it stopped.")
    return True


def summary_reports() -> None:
    """When the engine last recomputed each summary report (the other pages' "Figures as of"), and its error."""
    interval = every(settings().report_refresh_seconds)
    st.subheader("Summary reports", help=f"The revenue, influence, funnel and sales summaries are recomputed by the "
                                         f"engine in the background every {interval} (PULSE_REPORT_REFRESH_SECONDS); "
                                         "each is exact as of its last refresh, and a failed refresh keeps the "
                                         "previous result (report_refreshes).")
    rows = load(q.REPORT_REFRESHES, what="The report refreshes",
                none="No summary reports in this database yet: `pulse migrate` creates them.")
    if rows is None:
        return
    failing = rows[rows["error"].fillna("") != ""]
    if not failing.empty:
        st.warning(f"{len(failing)} report(s) failed their last refresh and show their previous result: "
                   + ", ".join(failing["report"]), icon=":material/sync_problem:")
    data_table(rows, height="content",  # 18 rows
               column_order=("report", "refreshed_at", "refresh_ms", "next_refresh_at", "status", "error"),
               column_config={"report": "Report",
                              "refreshed_at": st.column_config.DatetimeColumn(
                                  "Refreshed at (UTC)", format="D MMM, HH:mm:ss",
                                  help="When the result now served was computed; empty before the first"),
                              "refresh_ms": st.column_config.NumberColumn("Refresh time (ms)", format="%d"),
                              "next_refresh_at": st.column_config.DatetimeColumn("Next refresh (UTC)",
                                                                                 format="D MMM, HH:mm:ss"),
                              "status": "Status",
                              "error": st.column_config.TextColumn("Error", help="The last refresh's error; empty "
                                                                                 "when it succeeded")})


def dead_letters() -> None:
    st.subheader("Rejected input (dead letters)")
    counts = load(q.DEAD_LETTER_COUNTS, what="Dead-letter counts")
    if counts is not None:
        c = counts.iloc[0]
        cols = st.columns(3)
        cols[0].metric("Last hour", f"{int(c['last_hour']):,}", border=True)
        cols[1].metric("Last 24 hours", f"{int(c['last_day']):,}", border=True)
        cols[2].metric("Kept in all", f"{int(c['total']):,}", border=True,
                       help="Rejected input is kept with its reasons and can be replayed")
        if int(c["total"]) == 0:
            empty("Nothing has been rejected: every event so far passed validation.")
        else:
            reasons = load(q.DEAD_LETTER_REASONS, what="The reasons")
            if reasons is not None and not reasons.empty:
                st.markdown("**Most common reasons, 7 days**")
                data_table(reasons, column_config={"field": "Field", "reason": "Reason", "events": "Events"})
            latest = load(q.DEAD_LETTER_LATEST, what="The latest rejections")
            if latest is not None and not latest.empty:
                latest["why"] = latest["reasons"].map(describe_reasons)
                st.markdown("**Latest rejections**")
                data_table(latest,
                           column_order=("rejected_at", "source", "why", "payload"),
                           column_config={"rejected_at": st.column_config.DatetimeColumn("When", format="distance"),
                                          "source": "Came in through", "why": "Why", "payload": "Input"})


def unresolved_touches() -> None:
    st.subheader("Unresolved touches")
    unresolved = load(q.UNRESOLVED, what="Unresolved share",
                      none="No touches in the last 14 days.")
    if unresolved is not None:
        last = unresolved.iloc[-1]
        st.metric("Unresolved today", f"{float(last['unresolved_pct']):.1f}%", border=True,
                  help="Share of today's touches that matched no account (kept, and re-attributed when the "
                       "registry or an identify later explains them)")
        if int(unresolved["unresolved"].sum()) == 0:
            empty("Every touch of the last 14 days was tied to an account.")
            return
        chart(alt.Chart(unresolved, title="Share of touches with no account, per day (%)").mark_bar(color="#E15759")
              .encode(x=alt.X("yearmonthdate(day):T", title=None, axis=alt.Axis(format="%b %d")),
                      y=alt.Y("unresolved_pct:Q", title="Unresolved (%)", axis=alt.Axis(format="~g")),
                      tooltip=[alt.Tooltip("yearmonthdate(day):T", title="Day"), "touches:Q", "unresolved:Q",
                               alt.Tooltip("unresolved_pct:Q", title="%")])
              .properties(height=200))


# What each class means (README, "Traffic that is not a person"); the chart's colours in this order.
CLASSES = {
    "person": "a person: counts its minutes",
    "bot": "a crawler, preview bot, monitor or headless browser (by user agent), or a client that behaves like "
           "one: more page views a minute than the limit, or never an engaged second",
    "scanner": "a mail security gateway: a known scanner agent, a HEAD request, or an open or click within "
               "seconds of the email's first open",
    "privacy_proxy": "an email open fetched by Apple Mail Privacy Protection (Apple's network, or its bare agent)",
    "internal": "our own people: an internal email domain or network",
}
COLOURS = ["#4E79A7", "#E15759", "#F28E2B", "#B07AA1", "#76B7B2"]


def traffic_classes() -> None:
    st.subheader("Traffic that is not a person")
    daily = load(qt.TRAFFIC_DAILY, what="The traffic classes", none="No touches in the last 30 days.")
    if daily is None:
        return
    today = daily[daily["day"] == daily["day"].max()]
    person = float(today.loc[today["traffic"] == "person", "share"].sum())
    st.metric("Not a person, latest day", f"{100 - person:.1f}%", border=True,
              help="Share of the day's touches made by bots, scanners, Apple's privacy proxy or our own people: "
                   "stored and flagged, worth 0 minutes, out of reach and awareness")
    chart(alt.Chart(daily, title="Share of touches per day by who made them (%)").mark_bar()
          .encode(x=alt.X("yearmonthdate(day):T", title=None, axis=alt.Axis(format="%b %d")),
                  y=alt.Y("share:Q", title="Share of touches (%)", stack="zero", scale=alt.Scale(domain=[0, 100])),
                  color=alt.Color("traffic:N", title=None, sort=list(CLASSES),
                                  scale=alt.Scale(domain=list(CLASSES), range=COLOURS)),
                  order=alt.Order("traffic:N"),
                  tooltip=[alt.Tooltip("yearmonthdate(day):T", title="Day"), alt.Tooltip("traffic:N", title="Class"),
                           "touches:Q", alt.Tooltip("share:Q", title="%")])
          .properties(height=220))
    with st.expander("What each class means, and the most common reasons this week"):
        data_table([{"class": k, "meaning": v} for k, v in CLASSES.items()],
                   column_config={"class": "Class", "meaning": "Meaning"})
        reasons = load(qt.TRAFFIC_REASONS, what="The reasons")
        if reasons is not None and not reasons.empty:
            data_table(reasons, column_config={"traffic": "Class", "traffic_reason": "Reason", "touches": "Touches"})


health()
