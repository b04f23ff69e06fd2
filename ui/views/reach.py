"""Reach and programs: per campaign and event, the target accounts reached and how focused the spend was."""
from __future__ import annotations

import streamlit as st

from ui import queries as q
from ui.components import REFRESH_SECONDS, bar_chart, chart, data_table, freshness, header, load
from ui.db import settings
from ui.format import MONEY_FORMAT

header("Reach and programs", "Reach: target accounts with at least one success on a program (an open or click, "
                             "an attended event, a connected call). Focus: the share of the program's successes "
                             "that came from target accounts.")


@st.fragment(run_every=REFRESH_SECONDS)
def programs() -> None:
    st.subheader("Programs")
    rows = load(q.PROGRAM_REACH, what="Program reach",
                none="No programs yet. Import them with `pulse programs import programs.csv`; touches that carry a "
                     "campaign or program id count towards them.")
    if rows is not None:
        currency = settings().currency
        rows["label"] = rows["name"].where(rows["name"] != "", rows["program_id"])
        chart(bar_chart(rows, "reach_pct", "label", "Target accounts reached (%)", "Program",
                        "Reach: share of target accounts reached"))
        # the id only when a program has no name: the cost column must fit on the page
        data_table(rows,
                   column_order=("label", "channel", "target_accounts_reached", "target_accounts_total",
                                 "reach_pct", "focus_pct", "cost_per_reached_account"),
                   column_config={
                       "label": "Program", "channel": "Channel",
                       "target_accounts_reached": st.column_config.NumberColumn("Targets reached"),
                       "target_accounts_total": st.column_config.NumberColumn("Targets in all"),
                       "reach_pct": st.column_config.ProgressColumn("Reach", format="%.1f%%", min_value=0,
                                                                    max_value=100),
                       "focus_pct": st.column_config.ProgressColumn(
                           "Focus", format="%.1f%%", min_value=0, max_value=100,
                           help="Share of successes from target accounts; the rest is spend outside the list"),
                       "cost_per_reached_account": st.column_config.NumberColumn(
                           f"Cost per target reached ({currency})", format=MONEY_FORMAT,
                           help="The program's cost over the target accounts it reached; — when no cost is "
                                "recorded for it (`pulse programs import`) or it reached no target yet"),
                   })
    st.subheader("Awareness by channel")
    aware = load(q.CHANNEL_AWARENESS, what="Awareness by channel",
                 none="No target account has engaged on any channel in the last 90 days yet.")
    if aware is not None:
        chart(bar_chart(aware, "aware_pct", "channel", "Target accounts aware (%)", "Channel",
                        "Target accounts with engagement on each channel, 90 days", color="#59A14F"))
        data_table(aware, column_config={
            "channel": "Channel", "target_accounts_aware": "Target accounts aware",
            "target_accounts_total": "Target accounts",
            "aware_pct": st.column_config.ProgressColumn("Aware", format="%.1f%%", min_value=0, max_value=100)})
    freshness()


programs()
