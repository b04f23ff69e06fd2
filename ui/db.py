"""The dashboard's one database connection: read-only HTTP, the same in embedded and server mode.

Read-only is enforced by the engine (the embedded endpoint's `readonly = 1` sessions, or the
`pulse_reader` user on a server), never by looking at the SQL text. Errors are sorted by the
engine's error code into the two cases a page explains in plain words: the database cannot be
reached, or a view it needs does not exist yet; anything else is an ordinary QueryError.
"""
from __future__ import annotations

import logging
import re

import pandas as pd
import streamlit as st
from clickhouse_connect.driver.exceptions import OperationalError

from schemas.settings import Settings
from sinks.client import reader_client

log = logging.getLogger("pulse.ui")

# UNKNOWN_TABLE, UNKNOWN_DATABASE, UNKNOWN_IDENTIFIER, NO_SUCH_COLUMN_IN_TABLE, THERE_IS_NO_COLUMN
_MISSING = {"60", "81", "47", "16", "8"}
_CODE = re.compile(r"Code: (\d+)")


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
    return reader_client(settings())


def client():
    s = settings()
    return _client(s.sql_url, s.database, s.sql_host, s.sql_port)


def engine_message(exc: Exception) -> str:
    """The engine's own sentence, without the client's wrapping and the stack trace it may carry."""
    text = str(exc)
    start = text.find("Code: ")
    text = text[start:] if start >= 0 else text
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    return first.split(". Stack trace")[0][:400]


def classify(exc: Exception) -> Exception:
    if isinstance(exc, OperationalError) or isinstance(exc, OSError):
        return Unreachable(engine_message(exc))
    code = _CODE.search(str(exc))
    if code and code.group(1) in _MISSING:
        return NotAvailable(engine_message(exc))
    return QueryError(engine_message(exc))


def query(sql: str, params: dict | None = None) -> pd.DataFrame:
    """Rows of one query (client-side parameter binding: the embedded endpoint takes plain SQL)."""
    try:
        return client().query_df(sql, parameters=params or None)
    except Exception as exc:  # sorted into what a page can explain; the detail goes to the log
        err = classify(exc)
        log.info("query failed (%s): %s", type(err).__name__, err)
        raise err from None


def run_sql(text: str) -> pd.DataFrame | str:
    """An analyst's statement from the SQL page: a table when it returns rows, else the engine's answer.

    The client adds `FORMAT Native` to read rows; a statement that takes no FORMAT (DDL, INSERT, SET)
    gets a syntax error for that clause from the engine, and is then sent once as it was typed, so
    the reader sees the engine's real answer (for a write: refused, read-only). Nothing here decides
    what may run: the engine does.
    """
    try:
        return query(text)
    except QueryError as exc:
        if "Code: 62" not in str(exc) or "FORMAT" not in str(exc):
            raise
    try:
        return str(client().command(text))
    except Exception as exc:
        raise classify(exc) from None
