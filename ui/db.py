"""The dashboard's one database connection: read-only HTTP, the same in embedded and server mode.

What may run is decided where the SQL arrives, never here: the embedded endpoint (its token, its
statement check and its `readonly = 1` sessions; the dashboard signs in as `pulse_dashboard`, which
has a session of its own), or the `pulse_reader` user on a server. Errors are sorted by the
engine's error code into the two cases a page explains in plain words: the database cannot be
reached, or a view it needs does not exist yet; anything else is an ordinary QueryError.
"""
from __future__ import annotations

import logging

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.exceptions import OperationalError

from schemas.settings import Settings
from sinks.errors import engine_sentence, error_code
from sinks.client import reader_client
from sinks.sql_token import DASHBOARD_USER

log = logging.getLogger("pulse.ui")

# UNKNOWN_TABLE, UNKNOWN_DATABASE, UNKNOWN_IDENTIFIER, NO_SUCH_COLUMN_IN_TABLE, THERE_IS_NO_COLUMN
_MISSING = {"60", "81", "47", "16", "8"}


class Unreachable(RuntimeError):
    """The database did not answer (is `pulse up` or the worker running?)."""


class NotAvailable(RuntimeError):
    """A table or view (or one of its columns) the page reads does not exist yet."""


class QueryError(RuntimeError):
    """The engine refused or failed the query; the message is the engine's, first line only."""


def settings() -> Settings:
    return Settings.from_env()


@st.cache_resource(show_spinner=False)
def _client(url: str, database: str, host: str, port: int):
    # Keyed by where it points, so tests (and a changed environment) never reuse another database's client.
    return reader_client(settings(), user=DASHBOARD_USER)


def client():
    s = settings()
    return _client(s.sql_url, s.database, s.sql_host, s.sql_port)




def classify(exc: Exception) -> Exception:
    if isinstance(exc, OperationalError) or isinstance(exc, OSError):
        return Unreachable(engine_sentence(exc))
    if str(error_code(exc)) in _MISSING:
        return NotAvailable(engine_sentence(exc))
    return QueryError(engine_sentence(exc))


def query(sql: str, params: dict | None = None) -> pd.DataFrame:
    """Rows of one query (client-side parameter binding: the embedded endpoint takes plain SQL)."""
    try:
        return client().query_df(sql, parameters=params or None)
    except Exception as exc:  # sorted into what a page can explain; the detail goes to the log
        err = classify(exc)
        log.info("query failed (%s): %s", type(err).__name__, err)
        raise err from None


def run_sql(text: str) -> pd.DataFrame:
    """An analyst's statement from the SQL page, as a table.

    It goes to the database exactly once, as a query: a statement that is not a read is refused
    there with the reason (pulse's endpoint names it; a server's read-only user refuses it), and
    that answer is what the page shows. Nothing is retried another way (a retry as a plain command
    once reached what the query path refuses).
    """
    return query(text)
