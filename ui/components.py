"""What every page shares: loading a query with a friendly state instead of an error, the freshness
line, the "as of" line of the summary reports, the tables, and the charts (Altair, with plain titles)."""
from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from ui import queries
from ui.db import NotAvailable, QueryError, Unreachable, query, settings
from ui.format import MISSING, age_seconds, ago, reports_caption, reports_help, utc_now

REFRESH_SECONDS = 5


def load(sql: str, params: dict | None = None, *, what: str = "This part",
         none: str | None = None) -> pd.DataFrame | None:
    """Rows of a query, or None after telling the reader in plain words why there are none.

    With `none`, a query that ran and found no rows is shown as that friendly empty state (and
    returns None too), so a page only draws what has rows.
    """
    try:
        rows = query(sql, params)
    except Unreachable:
        st.warning("The database is not answering yet. Is `pulse up` (or the worker) running? "
                   f"This page tries again every {REFRESH_SECONDS} seconds.", icon=":material/power_off:")
    except NotAvailable:
        st.info(f"{what} is not available yet: this version of the database does not have the figures "
                "it needs. It will appear once the pipeline has been upgraded (`pulse migrate`).", icon=":material/schedule:")
    except QueryError:
        st.warning(f"{what} could not be loaded just now; it will try again in {REFRESH_SECONDS} seconds.",
                   icon=":material/hourglass_top:")
    else:
        if none is None or not rows.empty:
            return rows
        empty(none)
    return None


def quiet(sql: str, params: dict | None = None) -> pd.DataFrame | None:
    """For optional extras (a delta, a flag): None on any problem, and the page simply leaves it out."""
    try:
        return query(sql, params)
    except (Unreachable, NotAvailable, QueryError):
        return None


def header(title: str, intro: str) -> None:
    st.title(title)
    st.caption(intro)


def freshness(every: int = REFRESH_SECONDS) -> None:
    """'Data updated 2 s ago · as of 14:03:07 UTC' from the newest stored touch; the clock shows the refresh."""
    rows = quiet(queries.FRESHNESS)
    now = utc_now()
    age = age_seconds(rows.iloc[0]["latest"], now) if rows is not None and not rows.empty else None
    clock = f"as of {now:%H:%M:%S} UTC · refreshes every {every} s"
    if age is None:
        st.caption(f"No touches stored yet · {clock}")
    else:
        st.caption(f":green[●] Data updated {ago(age)} · {clock}")


def reports_as_of(reports: tuple[str, ...]) -> None:
    """'Figures as of 18:42:05 UTC (recomputed every 60 s)' for the summary reports a page shows (the oldest
    one's time), or 'Computing the first figures…'; and a warning naming each report whose last
    recomputation failed, with the engine's error (its previous result is what the page shows)."""
    rows = quiet(queries.REPORTS_AS_OF, {"reports": list(reports)})
    if rows is None:  # the database could not say: the page's own states tell why
        return
    seconds = settings().report_refresh_seconds
    caption, warnings = reports_caption(rows.to_dict("records"), reports, seconds, utc_now())
    for warning in warnings:
        st.warning(warning, icon=":material/sync_problem:")
    st.caption(f":material/schedule: {caption}", help=reports_help(reports, seconds))


def empty(message: str) -> None:
    st.info(message, icon=":material/lightbulb:")


def data_table(data, **options) -> None:
    """A table as every page shows one: the full width, no index, and "—" in an empty cell (the cells stay
    numbers, for sorting and the CSV). Only the SQL page shows the engine's NULL as it is."""
    st.dataframe(data, hide_index=True, width="stretch", placeholder=MISSING, **options)


def minutes_by_channel_chart(rows: pd.DataFrame, title: str) -> alt.Chart:
    return (
        alt.Chart(rows, title=title)
        .mark_bar()
        .encode(
            x=alt.X("yearmonthdate(day):T", title=None, axis=alt.Axis(format="%b %d")),
            y=alt.Y("sum(minutes):Q", title="Engagement minutes"),
            color=alt.Color("channel:N", title="Channel", scale=alt.Scale(scheme="tableau10")),
            tooltip=[alt.Tooltip("yearmonthdate(day):T", title="Day"), alt.Tooltip("channel:N", title="Channel"),
                     alt.Tooltip("sum(minutes):Q", title="Minutes", format=",.1f")],
        )
        .properties(height=300)
    )


def bar_chart(rows: pd.DataFrame, x: str, y: str, x_title: str, y_title: str, title: str,
              sort: str | None = "-x", color: str = "#4C78A8") -> alt.Chart:
    """A horizontal bar per category (x is the value, y the label), largest first."""
    return (
        alt.Chart(rows, title=title)
        .mark_bar(color=color)
        .encode(x=alt.X(f"{x}:Q", title=x_title), y=alt.Y(f"{y}:N", title=y_title, sort=sort, axis=alt.Axis(labelLimit=260)),
                tooltip=[alt.Tooltip(f"{y}:N", title=y_title), alt.Tooltip(f"{x}:Q", title=x_title, format=",.1f")])
        .properties(height=alt.Step(30))
    )


def chart(c: alt.Chart) -> None:
    st.altair_chart(c, width="stretch")
