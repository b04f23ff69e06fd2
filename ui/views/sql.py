"""SQL: a read-only query box against the documented views, with examples and a CSV download.

What may run is the endpoint's decision (pulse's embedded endpoint takes one read statement with no
files, network or settings, on `readonly = 1` sessions; on a server, the read-only `pulse_reader`
user), with the engine's time and size limits; this page never inspects the SQL.
"""
from __future__ import annotations

import streamlit as st

from ui import queries as q
from ui.components import header
from ui.db import NotAvailable, QueryError, Unreachable, run_sql, settings

SHOWN = 10_000

header("SQL", "Ask your own question in ClickHouse SQL: one SELECT, WITH, SHOW, DESCRIBE, EXPLAIN or EXISTS. "
              f"The database only allows reading here, a query stops after {settings().query_timeout_s} seconds "
              f"and an answer is at most {settings().query_max_result_rows:,} rows. The README lists the views and "
              "their columns.")


def use_example() -> None:
    st.session_state["sql_text"] = q.EXAMPLES[st.session_state["sql_example"]]


st.selectbox("Start from an example", list(q.EXAMPLES), index=None, key="sql_example", on_change=use_example,
             placeholder="Pick an example query")
st.session_state.setdefault("sql_text", next(iter(q.EXAMPLES.values())))
st.text_area("Query", key="sql_text", height=180)
run = st.button("Run query", type="primary", icon=":material/play_arrow:")

if run:
    text = st.session_state["sql_text"].strip().rstrip(";").strip()
    st.session_state.pop("sql_result", None)
    st.session_state.pop("sql_error", None)
    if not text:
        st.session_state["sql_error"] = "Type a query first."
    else:
        try:
            st.session_state["sql_result"] = run_sql(text)
        except Unreachable:
            st.session_state["sql_error"] = "The database is not answering. Is `pulse up` (or the worker) running?"
        except (NotAvailable, QueryError) as exc:
            st.session_state["sql_error"] = f"The database did not run this query: {exc}"

if "sql_error" in st.session_state:
    st.error(st.session_state["sql_error"])
elif "sql_result" in st.session_state:
    result = st.session_state["sql_result"]
    if result.empty:
        st.info("The query ran and returned no rows.")
    else:
        st.caption(f"{len(result):,} row{'s' if len(result) != 1 else ''}"
                   + (f"; showing the first {SHOWN:,} (the download has them all)" if len(result) > SHOWN else ""))
        st.dataframe(result.head(SHOWN), hide_index=True, width="stretch")
        st.download_button("Download CSV", result.to_csv(index=False), file_name="pulse_query.csv",
                           mime="text/csv", icon=":material/download:", on_click="ignore")
