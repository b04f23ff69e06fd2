"""The dashboard's one database connection: read-only HTTP, the same in embedded and server mode."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from pulse.settings import Settings
from sinks.client import reader_client


@st.cache_resource
def client():
    return reader_client(Settings.from_env())


def query(sql: str) -> pd.DataFrame:
    return client().query_df(sql)
