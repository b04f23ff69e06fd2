"""Accounts: the leaderboard of target accounts, filterable, searchable and exportable to CSV."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from ui import queries as q
from ui.components import REFRESH_SECONDS, data_table, empty, freshness, header, load, quiet
from ui.format import CHANNELS, STAGE_LABELS, STAGES, daily_series, filter_params, utc_now

SHOWN = 500  # rows on screen; the CSV holds every account that matches
EXPORT = 100_000

header("Accounts", "Target accounts ranked by engagement minutes in the last 30 days. Filter, search, "
                   "open an account, or download the list as CSV.")

choices = load(q.FILTER_CHOICES, what="The account list")
if choices is None:
    st.stop()
tiers = sorted(t for t in choices.iloc[0]["tiers"] if t) if not choices.empty else []
owners = sorted(o for o in choices.iloc[0]["owners"] if o) if not choices.empty else []

search_col, tier_col, owner_col, stage_col, channel_col = st.columns([2, 1, 1, 1, 1])
search_col.text_input("Search", key="accounts_search", placeholder="Account name or id")
tier_col.multiselect("Tier", tiers, key="accounts_tiers", placeholder="All tiers")
owner_col.multiselect("Owner", owners, key="accounts_owners", placeholder="All owners")
stage_col.multiselect("Stage", STAGES, key="accounts_stages", placeholder="All stages",
                      format_func=lambda s: STAGE_LABELS[s])
channel_col.multiselect("Engaged on channel", CHANNELS, key="accounts_channels", placeholder="Any channel",
                        help="Only accounts with engagement minutes on these channels in the last 90 days")


def params(limit: int) -> dict:
    s = st.session_state
    return filter_params(s.get("accounts_tiers"), s.get("accounts_owners"), s.get("accounts_stages"),
                         s.get("accounts_channels"), s.get("accounts_search", ""), limit)


def export_csv() -> str:
    """Runs when the reader clicks download: every matching account, not only the rows on screen."""
    rows = quiet(q.LEADERBOARD, params(EXPORT))
    return (rows if rows is not None else pd.DataFrame()).to_csv(index=False)


def sales_label(status: str, reason: str) -> str:
    """'Not interested: uses a competitor' — a rejection shows its reason, as the account journey does."""
    label = status.replace("_", " ").capitalize() if status else ""
    return f"{label}: {reason}" if reason and status in ("rejected", "not_interested") else label


@st.fragment(run_every=REFRESH_SECONDS)
def leaderboard() -> None:
    rows = load(q.LEADERBOARD, params(SHOWN), what="The leaderboard")
    if rows is None:
        return
    if rows.empty:
        filtered = any(st.session_state.get(k) for k in ("accounts_search", "accounts_tiers", "accounts_owners",
                                                          "accounts_stages", "accounts_channels"))
        empty("No target account matches these filters." if filtered else
              "No target accounts yet. Import your list with `pulse accounts import accounts.csv`, "
              "or start with `pulse up --demo`.")
        return
    ids = rows["account_id"].tolist()
    trends = quiet(q.ACCOUNT_TRENDS, {"accounts": tuple(ids)})
    series = daily_series(trends, ids, utc_now().date()) if trends is not None else {}
    rows.insert(2, "trend", [series.get(i, [0.0] * 30) for i in ids])
    rows["flags"] = [" · ".join(w for w, on in (("surging", s), ("re-engaged", r)) if on)
                     for s, r in zip(rows["surging"], rows["re_engaged"])]
    rows["stage"] = rows["stage"].map(STAGE_LABELS).fillna(rows["stage"])
    rows["open"] = "account?account=" + rows["account_id"]
    rows["sales"] = [sales_label(s, r) for s, r in zip(rows["sales_status"], rows["sales_reason"])]
    st.caption(f"{len(rows):,} target account{'s' if len(rows) != 1 else ''}"
               + (f" (the first {SHOWN}; the CSV has them all)" if len(rows) == SHOWN else ""))
    data_table(
        rows, height=min(38 + 35 * len(rows), 640),
        column_order=("open", "account_name", "stage", "sales", "trend", "minutes_7d", "minutes_30d", "minutes_90d",
                    "people_engaged_90d", "flags", "last_activity_at", "owner", "tier"),
        column_config={
            "open": st.column_config.LinkColumn("", display_text="Open", width="small",
                                              help="Open the account's story"),
            "account_name": st.column_config.TextColumn("Account"),
            "trend": st.column_config.LineChartColumn("Trend", y_min=0, width="small", help="Minutes per day, last 30 days"),
            "stage": st.column_config.TextColumn("Stage", width="small", help="Over 90 days: Unaware, Aware, Engaged, MQA"),
            "minutes_7d": st.column_config.NumberColumn("Min 7 d", format="%.1f", width="small"),
            "minutes_30d": st.column_config.NumberColumn("Min 30 d", format="%.1f", width="small"),
            "minutes_90d": st.column_config.NumberColumn("Min 90 d", format="%.1f", width="small"),
            "people_engaged_90d": st.column_config.NumberColumn("People", width="small",
                                                               help="People engaged (minutes above 0) in 90 days"),
            "flags": st.column_config.TextColumn(
                "Alerts", help="surging: 7-day minutes at least 10 and twice the weekly average of the 28 days "
                             "before; re-engaged: active again after 60+ quiet days"),
            "last_activity_at": st.column_config.DatetimeColumn("Last activity", format="distance"),
            "tier": st.column_config.TextColumn("Tier", width="small"),
            "sales": st.column_config.TextColumn(
                "Sales", help="Sales' latest decision on the account (accepted, rejected, not interested with its "
                            "reason, reopened); empty when none"),
            "owner": st.column_config.TextColumn("Owner"),
        },
    )
    freshness()


leaderboard()
st.download_button("Download CSV", export_csv, file_name="target_accounts.csv", mime="text/csv", icon=":material/download:",
                   on_click="ignore", help="Every target account that matches the filters, with exact minutes")
