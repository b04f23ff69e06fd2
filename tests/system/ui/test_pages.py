"""Every dashboard page on real query results from the engine: a worker and the hooks hold a small,
scripted story (tests/ui/ui_fixtures.py), and the pages must show what the views say.

The story, worked out by hand (engagement minutes, today):
  acme (target, tier 1, Avery)   meeting 60 min x c_level 2.0 = 120, call 20 min x vp 1.5 = 30,
                                 email open 1 x 2.0 = 2  -> 152 minutes, 2 people with 20+ -> MQA
  globex (target, tier 2, Blake) page view 1 + form 10 -> 11 minutes -> engaged
  initech (target, tier 3, Avery) nothing                -> unaware
  umbrella (not a target)        nothing
  bob@gmail.com                  a page view no account resolves (1 of 6 touches unresolved)
  one event with a bad occurred_at -> rejected, kept with its reason
"""
from __future__ import annotations

import calendar
import json
import re
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pandas as pd
import pytest

from conftest import sql_rows, wait_until
from ui_fixtures import blank, dashboard, story, texts  # noqa: F401  (fixtures)


def metric(at, label_start: str):
    found = [m for m in at.metric if m.label.startswith(label_start)]
    assert found, f"no metric {label_start!r} in {[m.label for m in at.metric]}"
    return found[0]


def table(at, column: str):
    """The first dataframe on the page that has this column."""
    for frame in at.dataframe:
        if column in frame.value.columns:
            return frame.value
    raise AssertionError(f"no table with column {column!r}; the page says:\n{texts(at)}")


def test_overview_shows_stage_tiles_with_the_change_against_a_week_ago(story, dashboard):
    at = dashboard(story)
    assert metric(at, "Target accounts").value == "3"
    aware, engaged, mqa = metric(at, "Aware"), metric(at, "Engaged"), metric(at, "MQA")
    assert (aware.value, engaged.value, mqa.value) == ("2", "2", "1")
    assert aware.label == "Aware · 67% of targets" and mqa.label == "MQA · 33% of targets"
    # the recorded stages the tiles count agree with the view's stages
    stages = dict(sql_rows(story, "SELECT stage, count() FROM account_engagement WHERE is_target GROUP BY stage"))
    assert stages == {"mqa": 1, "engaged": 1, "unaware": 1}
    # the stage history starts today: no change against a week ago is shown rather than a made-up one
    assert not aware.delta and not engaged.delta and not mqa.delta
    assert "once the stage history is a week old" in texts(at)
    # month to date = the story's 163 minutes on target accounts, as the view sums it
    mtd = sql_rows(story, "SELECT sum(minutes_mtd) FROM account_engagement WHERE is_target")[0][0]
    assert mtd == Decimal("163.00")
    assert metric(at, "Minutes this month").value == "163 min"
    # the journey: acme won W1 (customer); globex only lost L1 (engaged today); initech unaware
    journey = {m.label: m.value for m in at.metric if "(account_journey)" in (m.help or "")}
    assert journey == {"Customers": "1", "Opportunity": "0", "Not interested": "0", "MQA": "0", "Engaged": "1",
                       "Aware": "0", "Unaware": "1"}
    assert "Data updated" in texts(at) and "s ago" in texts(at)


def chart_specs(at) -> str:
    return " ".join(c.proto.spec for c in at.get("vega_lite_chart"))


def test_overview_chart_filters_survive_and_change_the_chart(story, dashboard):
    at = dashboard(story)
    assert "by channel, target accounts, last 30 days" in chart_specs(at)
    at.toggle(key="overview_targets_only").set_value(False).run()
    at.segmented_control(key="overview_days").set_value(90).run()
    assert not at.exception
    assert at.session_state["overview_targets_only"] is False and at.session_state["overview_days"] == 90
    assert "by channel, all traffic, last 90 days" in chart_specs(at)
    # what the "all traffic" chart reads: the story's minutes by audience (bob@gmail.com resolves to nobody)
    by_audience = dict(sql_rows(story, "SELECT audience, sum(minutes) FROM channel_trend GROUP BY audience"))
    assert by_audience == {"target": Decimal("163.00"), "unresolved": Decimal("1.00")}
    assert metric(at, "Target accounts").value == "3"  # the tiles do not depend on the chart filters


def test_accounts_leaderboard_matches_the_view_and_filters(story, dashboard):
    at = dashboard(story, "accounts")
    rows = table(at, "account_name")
    assert rows["account_name"].tolist() == ["Acme Rockets", "Globex Media", "Initech Labs"]  # by 30-day minutes
    expected = dict(sql_rows(story, "SELECT account_name, toFloat64(minutes_30d) FROM account_engagement "
                                    "WHERE is_target"))
    assert dict(zip(rows["account_name"], rows["minutes_30d"])) == expected
    assert dict(zip(rows["account_name"], rows["stage"])) == {"Acme Rockets": "MQA", "Globex Media": "Engaged",
                                                               "Initech Labs": "Unaware"}
    assert rows.set_index("account_name").loc["Acme Rockets", "people_engaged_90d"] == 2
    assert rows.set_index("account_name").loc["Acme Rockets", "flags"] == "surging"  # 152 minutes, no baseline
    assert rows.set_index("account_name").loc["Acme Rockets", "trend"][-1] == 152.0  # today's point of the trend
    assert "Umbrella Pharma" not in rows["account_name"].tolist()  # not a target account
    assert rows.set_index("account_name").loc["Acme Rockets", "open"] == "account?account=acme"
    assert dict(zip(rows["account_name"], rows["sales"])) == {"Acme Rockets": "Accepted", "Globex Media": "",
                                                               "Initech Labs": ""}  # sales' decision (ui_fixtures)
    assert at.get("download_button"), "the CSV download is on the page"

    at.multiselect(key="accounts_stages").set_value(["mqa"]).run()
    assert table(at, "account_name")["account_name"].tolist() == ["Acme Rockets"]
    at.multiselect(key="accounts_stages").set_value([]).run()
    at.multiselect(key="accounts_owners").set_value(["Avery"]).run()
    assert table(at, "account_name")["account_name"].tolist() == ["Acme Rockets", "Initech Labs"]
    at.multiselect(key="accounts_channels").set_value(["meeting"]).run()
    assert table(at, "account_name")["account_name"].tolist() == ["Acme Rockets"]
    at.multiselect(key="accounts_owners").set_value([]).run()
    at.multiselect(key="accounts_channels").set_value([]).run()
    at.multiselect(key="accounts_tiers").set_value(["2"]).run()
    assert table(at, "account_name")["account_name"].tolist() == ["Globex Media"]
    at.multiselect(key="accounts_tiers").set_value([]).run()
    at.text_input(key="accounts_search").set_value("initech").run()
    assert table(at, "account_name")["account_name"].tolist() == ["Initech Labs"]
    at.text_input(key="accounts_search").set_value("no such company").run()
    assert "No target account matches these filters" in texts(at)


def test_accounts_csv_export_holds_every_matching_account(story, dashboard, monkeypatch):
    from ui import queries
    from ui.db import query
    from ui.format import filter_params

    at = dashboard(story, "accounts")
    assert not at.exception
    # the download runs the leaderboard query with the page's filters and a large limit
    csv = query(queries.LEADERBOARD, filter_params([], ["Avery"], [], [], "", 100_000)).to_csv(index=False)
    lines = csv.strip().splitlines()
    assert lines[0].startswith("account_id,account_name,tier,owner,stage")
    assert sorted(line.split(",")[0] for line in lines[1:]) == ["acme", "initech"]


def test_account_page_tells_one_accounts_story(story, dashboard):
    at = dashboard(story, "account", query_params={"account": "acme"})
    assert metric(at, "Stage").value == "MQA"
    assert metric(at, "Minutes, 7 days").value == "152 min"
    assert metric(at, "People engaged").value == "2"
    people = table(at, "role")
    assert dict(zip(people["person"], people["role"])) == {"cleo@acme.example": "c_level", "vic@acme.example": "vp"}
    assert dict(zip(people["person"], people["minutes_90d"])) == {"cleo@acme.example": 122.0,
                                                                  "vic@acme.example": 30.0}
    timeline = table(at, "occurred_at")
    assert sorted(timeline["type"]) == ["call", "email_open", "meeting"]
    assert metric(at, "Contacts known").value == "2 of 4"  # two known contacts, committee of four
    history = table(at, "change")
    assert "→ MQA" in " ".join(history["change"])
    assert "Acme Rockets" in texts(at) and "owner Avery" in texts(at)


def test_account_page_shows_sales_decision_coverage_and_activity(story, dashboard):
    at = dashboard(story, "account", query_params={"account": "acme"})
    assert "Sales' decision: **accepted** (fits the profile) by Avery · covered" in texts(at)
    reps = table(at, "meetings_held")
    assert reps[["rep", "calls", "connected_calls", "conversations", "meetings_held", "emails_out"]].values.tolist() \
        == [["Avery", 1, 1, 0, 1, 0]]
    at = dashboard(story, "account", query_params={"account": "initech"})
    assert "No decision from sales yet · not covered: no contact known" in texts(at)
    assert "No calls, meetings or sales emails here in 90 days." in texts(at)


def test_account_page_search_switches_account(story, dashboard):
    at = dashboard(story, "account")
    at.text_input(key="account_search").set_value("globex").run()
    assert at.selectbox(key="account_selected").value == "globex"
    assert metric(at, "Stage").value == "Engaged"
    assert metric(at, "Minutes, 7 days").value == "11.0 min"


def test_account_page_lists_the_accounts_opportunities_and_their_stage_history(story, dashboard):
    at = dashboard(story, "account", query_params={"account": "acme"})
    deals = table(at, "status").set_index("opportunity_id")
    assert deals["status"].to_dict() == {"P1": "open", "W1": "won"}
    assert deals.loc["W1", "amount"] == 1200.0 and deals.loc["W1", "cycle_days"] == 10
    assert metric(at, "Open pipeline").value == "$800.00" and metric(at, "Won").value == "$1,200.00"
    visits = table(at, "days_in_stage")
    # W1 was in Proposal (the older snapshot) before Closed Won; P1 is in Proposal now
    assert list(zip(visits["opportunity_id"], visits["stage"])) == [("P1", "Proposal"), ("W1", "Proposal"),
                                                                     ("W1", "Closed Won")]
    assert visits["left_at"].isna().tolist() == [True, False, True]


def test_account_page_people_show_their_lifecycle_stage(story, dashboard):
    at = dashboard(story, "account", query_params={"account": "acme"})
    people = table(at, "lifecycle_stage")
    assert dict(zip(people["person"], people["lifecycle_stage"])) == {"cleo@acme.example": "sql",
                                                                      "vic@acme.example": "subscriber"}


def test_funnel_page_shows_stages_conversion_time_in_stage_and_sources(story, dashboard):
    """story_lifecycle (tests/ui_fixtures.py), minutes ago: cleo lead 50, mql 40, sql 10 (marketing);
    ana lead 20 (marketing); vic subscriber 30 (sales). Page views today: ana and bob@gmail (2 visitors)."""
    at = dashboard(story, "funnel", funnel_period="365d")
    side = table(at, "Month to date").set_index("Figure")
    for period in ("Month to date", "Year to date"):  # 2 new leads of 2 visitors; nobody a customer yet
        assert side[period].tolist() == ["2", "1", "1", "0", "2", "100.00%", "0.00%"], period
    stages = table(at, "next_step").set_index("stage")
    assert stages["reached"].to_dict() == {"subscriber": 3, "lead": 2, "mql": 1, "sql": 1, "opportunity": 0,
                                           "customer": 0, "evangelist": 0}
    assert stages.loc["subscriber", "next_step"] == pytest.approx(66.67)  # cleo and ana of the three
    assert stages.loc["lead", "next_step"] == 50.0 and stages.loc["mql", "next_step"] == 100.0
    assert stages.loc["sql", "from_lead"] == 50.0 and stages.loc["customer", "from_lead"] == 0.0
    # time in stage: cleo 10 min a lead (0.0069 days), 30 min an MQL (0.0208 days); nobody moved on from sql
    assert (stages.loc["lead", "avg_days"], stages.loc["mql", "avg_days"]) == (0.0069, 0.0208)
    assert stages.loc["mql", "median_days"] == 0.0208 and pd.isna(stages.loc["sql", "avg_days"])
    split = table(at, "Lead → MQL (%)").set_index("source")
    assert split.loc["marketing", "New leads"] == 2 and split.loc["marketing", "Lead → MQL (%)"] == 50.0
    assert split.loc["sales", "New leads"] == 0 and pd.isna(split.loc["sales", "Lead → MQL (%)"])
    at.radio(key="funnel_mode").set_value("period").run()  # this period's counts against each other
    stages = table(at, "next_step").set_index("stage")
    assert stages.loc["subscriber", "next_step"] == pytest.approx(66.67) and stages.loc["sql", "from_lead"] == 50.0
    at.selectbox(key="funnel_source").set_value("sales").run()
    assert table(at, "Month to date").set_index("Figure").loc["New leads", "Year to date"] == "0"


def test_funnel_page_empty_state_says_how_to_get_lifecycle_data_in(blank, dashboard):
    at = dashboard(blank, "funnel")
    words = texts(at)
    assert "No lifecycle stages yet" in words and "pulse lifecycle import" in words and "/hooks/crm" in words


def test_overview_shows_the_quarters_pipeline_and_won_revenue(story, dashboard):
    at = dashboard(story)
    today = date.today()
    w1_in = today - timedelta(days=10) >= today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1)
    assert metric(at, "Pipeline created this quarter").value == ("$2,500.00" if w1_in else "$1,300.00")
    assert metric(at, "Won revenue this quarter").value == "$1,200.00"  # W1; umbrella's W2 is not a target


def test_revenue_page_shows_cac_the_goal_with_its_pace_and_clv(story, dashboard):
    """The story imports 900.00 of spend this month and a won_amount goal of 3,000.00 for it (ui_fixtures).
    New customers: acme (W1) among the targets, + umbrella (W2) among all."""
    at = dashboard(story, "revenue")
    for short in ("MTD", "QTD", "YTD"):
        assert metric(at, f"New customers, {short}").value == "1"
        assert metric(at, f"CAC, {short}").value == "$900.00"
    # the goal: all accounts' won revenue this month, 1,500.00, against 3,000.00 at day d of n
    today = date.today()
    n = calendar.monthrange(today.year, today.month)[1]
    pace = (Decimal(1500) * n / (3000 * today.day) * 100).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    goal = metric(at, "Won revenue · goal")
    assert goal.label.endswith("goal $3,000.00") and goal.value == "$1,500.00" and goal.delta == f"pace {pace}%"
    assert today.strftime("%B %Y") + " so far" in texts(at)
    # CLV: (1,200 + 300) / 2 customers a year x 3 years (no renewal closed) - CAC 900 / 2
    assert metric(at, "Customer lifetime value").value == "$1,800.00"
    assert metric(at, "Expected lifetime").value == "3.00 years"
    assert metric(at, "Won revenue per customer per year").value == "$750.00"
    assert metric(at, "CAC, 365 days").value == "$450.00"
    assert "pulse goals import" not in texts(at)  # goals exist: no empty state
    at.toggle(key="revenue_targets_only").set_value(False).run()
    assert metric(at, "New customers, MTD").value == "2" and metric(at, "CAC, MTD").value == "$450.00"


def test_reach_page_shows_reach_and_focus_per_program(story, dashboard):
    at = dashboard(story, "reach")
    programs = table(at, "reach_pct").set_index("program_id")
    assert programs.loc["cmp-nov", "target_accounts_reached"] == 1
    assert programs.loc["cmp-nov", "target_accounts_total"] == 3
    assert programs.loc["cmp-nov", "reach_pct"] == 33.3
    assert programs.loc["cmp-nov", "focus_pct"] == 100.0
    assert programs.loc["cmp-nov", "cost_per_reached_account"] == 300.0
    # no cost recorded and no target reached yet: the cell reads "—", never "None"
    assert programs.loc["evt-spring", "target_accounts_reached"] == 0
    assert pd.isna(programs.loc["evt-spring", "cost_per_reached_account"])
    assert [f.proto.placeholder for f in at.dataframe] == ["—"] * len(at.dataframe) == ["—", "—"]
    assert json.loads(at.dataframe[0].proto.columns)["cost_per_reached_account"]["type_config"]["format"] \
        == "accounting"
    aware = table(at, "aware_pct").set_index("channel")
    expected = dict(sql_rows(story, "SELECT channel, target_accounts_aware FROM channel_awareness"))
    assert aware["target_accounts_aware"].to_dict() == expected
    assert expected["meeting"] == 1 and expected["web"] == 1


def test_alerts_page_lists_new_mqas_and_surging_accounts(story, dashboard):
    at = dashboard(story, "alerts")
    assert metric(at, "New MQAs").value == "1 / 1"
    new = table(at, "stage_from")
    assert new["account_name"].tolist() == ["Acme Rockets"]
    flagged = table(at, "why")
    surging = dict(sql_rows(story, "SELECT account_name, surging FROM account_engagement WHERE is_target"))
    assert sorted(flagged["account_name"]) == sorted(n for n, s in surging.items() if s)
    assert "Acme Rockets" in flagged["account_name"].tolist()
    at.segmented_control(key="alerts_hours").set_value(168).run()
    assert table(at, "stage_from")["account_name"].tolist() == ["Acme Rockets"]


def test_revenue_page_shows_periods_open_pipeline_and_velocity(story, dashboard):
    """The story's opportunities (tests/ui_fixtures.py, story_opportunities): all close today; W1 was created
    10 days ago, so it counts as pipeline created in a period only when that day is in it."""
    today = date.today()
    starts = {"MTD": today.replace(day=1), "QTD": today.replace(month=(today.month - 1) // 3 * 3 + 1, day=1),
              "YTD": today.replace(month=1, day=1)}
    at = dashboard(story, "revenue")
    for short, start in starts.items():
        w1 = today - timedelta(days=10) >= start
        # target: W1 won (1,200.00, 10 days), L1 lost; created P1 800.00 + L1 500.00 (+ W1)
        assert metric(at, f"Pipeline created, {short}").value == ("$2,500.00" if w1 else "$1,300.00")
        assert metric(at, f"Won revenue, {short}").value == "$1,200.00"
        assert metric(at, f"Win rate, {short}").value == "50.00%"
        assert metric(at, f"Average deal size, {short}").value == "$1,200.00"
        assert metric(at, f"Sales cycle, {short}").value == "10 days"
    assert metric(at, "Open pipeline").value == "$800.00"
    assert metric(at, "Weighted open pipeline").value == "$480.00"  # P1 at 60 %
    stages = table(at, "weighted_open_amount")
    assert stages["stage"].tolist() == ["Proposal"] and stages["open_count"].tolist() == [1]
    # velocity, every account: 1 open x (2 won of 3 closed) x 750.00 / 6 days = 1 x 1500 x 2 / (3 x 12) = 83.33
    assert metric(at, "Sales velocity per day").value == "$83.33"
    assert metric(at, "Win rate, 365 days").value == "66.67%"
    assert metric(at, "Average deal size, 365 days").value == "$750.00"
    assert metric(at, "Sales cycle, 365 days").value == "6 days"
    assert all(m.help for m in at.metric), "every figure says how it is defined"
    assert "This month, quarter and year · target accounts" in texts(at)

    at.toggle(key="revenue_targets_only").set_value(False).run()
    assert not at.exception and "This month, quarter and year · all accounts" in texts(at)
    # all: + W2 at umbrella (300.00, 2 days)
    assert metric(at, "Won revenue, MTD").value == "$1,500.00"
    assert metric(at, "Win rate, MTD").value == "66.67%"
    assert metric(at, "Sales cycle, MTD").value == "6 days"
    # the figures are the views' figures
    assert sql_rows(story, "SELECT won_amount FROM revenue_summary WHERE period = 'mtd' AND audience = 'all'") \
        == [(Decimal("1500.00"),)]


def test_influence_page_shows_quartiles_headline_and_attribution(story, dashboard):
    """The story's closed opportunities (L1, W1, W2) had no engagement in the 90 days before they were created
    (every touch is today): 0 minutes each, so the quartiles go by id. P1 (800.00, open, created after acme's
    email open of cmp-nov, a 300.00 program) is that program's whole attributed pipeline."""
    at = dashboard(story, "influence")
    words = texts(at)
    assert "Not enough closed opportunities yet: 3 of 8." in words
    segments = table(at, "opportunities").set_index("label")
    assert segments["opportunities"].tolist() == [1, 1, 1, 0, 0, 3]
    assert segments.loc["Q2", "win_pct"] == 100 and segments.loc["Q2", "avg_deal_size"] == 1200
    assert segments.loc["Not engaged (< 10 min)", "win_pct"] == 66.67
    assert segments.loc["Not engaged (< 10 min)", "cycle"] == 6
    assert "Which programs earned the pipeline? · Linear, last 365 days" in words
    programs = table(at, "attributed_pipeline").set_index("program")
    assert programs.loc["November newsletter"].tolist() == [800.0, 0.0, 1, 800.0, 0.0, 300.0, -100.0]
    # percentages with thousands separators, as money has them: an ROI of 4737.49 % reads "4,737.49%"
    formats = {name: c["type_config"]["format"] for f in at.dataframe for name, c in json.loads(f.proto.columns).items()
               if name in ("roi_pct", "win_pct")}
    assert formats == {"roi_pct": "%,.2f%%", "win_pct": "%,.2f%%"}
    assert at.get("download_button")
    at.selectbox(key="influence_model").set_value("w_shaped").run()
    at.selectbox(key="influence_period").set_value("mtd").run()
    assert not at.exception and "Which programs earned the pipeline? · W-shaped, month to date" in texts(at)
    assert table(at, "attributed_pipeline").set_index("program").loc["November newsletter", "attributed_pipeline"] \
        == 800.0
    assert sql_rows(story, "SELECT attributed_pipeline, roi FROM program_attribution WHERE program_id = 'cmp-nov' "
                           "AND model = 'w_shaped' AND period = 'mtd'") == [(Decimal("800.00"), Decimal("-1.0000"))]


@pytest.mark.parametrize("page", ["funnel", "sales_activity"])
def test_the_funnel_and_sales_tables_read_a_dash_for_a_missing_cell(story, dashboard, page):
    """The SLA's percentages of a pending owner, an uncovered account's last activity, the last stage's
    next step: missing cells there read "—" as on the other pages, never "None"."""
    at = dashboard(story, page)
    assert not at.exception and at.dataframe
    assert any(f.value.isna().any().any() for f in at.dataframe)  # the story has missing cells to show
    assert [f.proto.placeholder for f in at.dataframe] == ["—"] * len(at.dataframe)


@pytest.mark.parametrize("page", ["accounts", "alerts", "data_health"])
def test_every_table_of_the_live_pages_reads_a_dash_for_a_missing_cell(story, dashboard, page):
    """An account with no activity yet, a worker with no error, an alert not yet attempted: "—", not "None"
    (only the SQL page shows the engine's NULL as it is)."""
    at = dashboard(story, page)
    assert not at.exception and at.dataframe
    assert [f.proto.placeholder for f in at.dataframe] == ["—"] * len(at.dataframe)


@pytest.mark.parametrize("page, params, column, row", [
    ("influence", {}, "avg_deal_size", 3),        # Q4: no closed opportunity, so no deal size
    ("account", {"account": "acme"}, "cycle_days", 0),   # P1 is open: no cycle yet
])
def test_a_missing_money_value_or_figure_reads_as_a_dash_never_none(story, dashboard, page, params, column, row):
    """Streamlit shows a missing cell as "None" unless the table names a placeholder: every table of the
    Influence, Revenue and Account pages shows "—", as their tiles do (ui/format.MISSING)."""
    at = dashboard(story, page, query_params=params)
    frames = [f for f in at.dataframe if column in f.value.columns]
    assert frames and pd.isna(frames[0].value[column].iloc[row])
    assert [f.proto.placeholder for f in at.dataframe] == ["—"] * len(at.dataframe)
    revenue = dashboard(story, "revenue")
    assert revenue.dataframe and all(f.proto.placeholder == "—" for f in revenue.dataframe)
    # money to the cent with separators ("31,012.50"), never "localized", which drops a trailing zero
    money = {"avg_deal_size": "influence", "attributed_pipeline": "influence", "cost": "influence",
             "amount": "account", "open_amount": "revenue"}
    checked = set()
    for frame in list(at.dataframe) + list(revenue.dataframe):
        config = json.loads(frame.proto.columns)
        for name in set(config) & {c for c, p in money.items() if p in (page, "revenue")}:
            assert config[name]["type_config"]["format"] == "accounting", name
            checked.add(name)
    assert checked == {c for c, p in money.items() if p in (page, "revenue")}


def test_sales_activity_page_shows_rates_coverage_acceptance_and_the_sla(story, dashboard):
    """The story's sales side (ui_fixtures): Avery's meeting with cleo and connected inbound call with vic at acme
    today, and sales' acceptance of acme after it became MQA; globex has a contact and an owner, initech neither."""
    at = dashboard(story, "sales_activity")
    assert not at.exception and not at.error
    assert (metric(at, "Calls").value, metric(at, "Conversations").value, metric(at, "Meetings held").value) == \
        ("1", "0", "1")
    assert metric(at, "Call → conversation").value == "0.00%" and metric(at, "Call → meeting").value == "0.00%"
    # 2 commercial actions (the call and the meeting) at 3 target accounts over the days of this month
    per_day = (Decimal(2) / 3 / date.today().day).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
    assert metric(at, "Actions per target account per day").value == f"{per_day:.4f}"
    specs = " ".join(c.proto.spec for c in at.get("vega_lite_chart"))
    assert "Call rates per rep, against 1 in 3" in specs and "Call rates per target account" in specs
    assert metric(at, "Target accounts covered").value == "1 of 3 (33%)"
    uncovered = table(at, "reason")
    assert dict(zip(uncovered["account_name"], uncovered["reason"])) == {
        "Globex Media": "No activity in 30 days", "Initech Labs": "No contact known"}
    assert (metric(at, "MQAs handed over").value, metric(at, "Accepted").value) == ("1", "100.00%")
    assert metric(at, "Accepted per 1,000 target accounts").value == "333.33"
    decisions = table(at, "decided_by")
    assert decisions[["account_name", "status", "reason"]].values.tolist() == [
        ["Acme Rockets", "Accepted", "fits the profile"]]
    # cleo became MQL 40 minutes ago (owner Avery from her lead change) and met Avery since: worked, but her
    # 14 days have not passed, so the SLA judges nothing yet
    sla = table(at, "pending").set_index("owner")
    assert (sla.loc["Avery", "mqls"], sla.loc["Avery", "pending"], sla.loc["Avery", "sla"]) == (1, 1, "Pending")
    assert pd.isna(sla.loc["Avery", "worked_pct"]) and pd.isna(sla.loc["Avery", "attempts_met_pct"])
    hours = sql_rows(story, "SELECT toFloat64(median_hours_to_first_touch) FROM sla_by_owner WHERE period = 'mtd'")
    assert sla.loc["Avery", "median_hours_to_first_touch"] == hours[0][0] and 0.6 < hours[0][0] < 0.7
    assert "5 attempts within 14 days" in texts(at)
    assert "Data updated" in texts(at)


def test_data_health_page_shows_workers_dead_letters_and_unresolved_share(story, dashboard):
    wait_until(lambda: sql_rows(story, "SELECT count() FROM pipeline_health")[0][0] > 0, 60,
               what="a pipeline_health reading")
    wait_until(lambda: sql_rows(story, "SELECT count() FROM stage_marks WHERE took_ms > 0")[0][0] > 0, 60,
               what="a stage evaluation with its time")
    at = dashboard(story, "data_health")
    workers = table(at, "worker")
    assert "ui-test-worker" in workers["worker"].tolist()
    # the worker's stage evaluations: the latest, how long it took and why, how many ran this hour
    assert metric(at, "Last evaluation").value.endswith("ago") and metric(at, "It took").value.endswith(" s")
    assert int(metric(at, "Evaluations, last hour").value.replace(",", "")) >= 1
    assert "account" in metric(at, "It took").proto.help
    assert metric(at, "Kept in all").value == "1"
    reasons = table(at, "reason")
    assert "occurred_at" in reasons["field"].tolist()
    latest = table(at, "why")
    assert "occurred_at" in latest["why"].iloc[0] and "not a time" in latest["payload"].iloc[0]
    assert metric(at, "Unresolved today").value == "16.7%"  # bob@gmail.com: 1 of 6 touches
    # the story's touches are all people's (signed, no bot agent); each class is defined on the page
    assert metric(at, "Not a person, latest day").value == "0.0%"
    assert table(at, "meaning")["class"].tolist() == ["person", "bot", "scanner", "privacy_proxy", "internal"]


def test_report_pages_say_when_their_figures_were_computed(story, dashboard):
    # the engine computes each summary report as soon as it is created (the migration), then every
    # report_refresh_seconds (the story's: ui_fixtures.UI_REFRESH_SECONDS)
    wait_until(lambda: sql_rows(story, "SELECT countIf(refreshed_at IS NULL) FROM report_refreshes")[0][0] == 0, 60,
               what="every summary report computed once")
    for page in ("revenue", "influence", "funnel", "sales_activity"):
        at = dashboard(story, page)
        captions = [c for c in at.caption if "Figures as of" in c.value]
        assert captions, f"{page}: no as-of line; the page says:\n{texts(at)}"
        every = f"recomputed every {story.report_refresh_seconds} s"
        assert re.search(r"Figures as of \d\d:\d\d:\d\d UTC \(" + every + r"\)", captions[0].value), captions[0].value
        assert "exact as of" in captions[0].proto.help  # the definition, in its tooltip
    at = dashboard(story, "data_health")
    reports = table(at, "refresh_ms")
    from ui import queries as q
    expected = [r for (r,) in sql_rows(story, "SELECT report FROM report_refreshes ORDER BY report")]
    shown = {*q.OVERVIEW_REPORTS, *q.REVENUE_REPORTS, *q.INFLUENCE_REPORTS, *q.FUNNEL_REPORTS, *q.SALES_REPORTS}
    assert reports["report"].tolist() == expected and shown <= set(expected)  # every page's reports exist
    assert reports["refreshed_at"].notna().all() and (reports["error"] == "").all()


def test_sql_page_runs_queries_and_the_engine_refuses_writes(story, dashboard):
    at = dashboard(story, "sql")
    at.text_area(key="sql_text").set_value("SELECT account_name FROM account_engagement WHERE stage = 'mqa';").run()
    at.button[0].click().run()
    assert at.dataframe[0].value["account_name"].tolist() == ["Acme Rockets"]
    assert at.get("download_button")

    outfile = story.data_dir / "written-by-the-sql-page"
    for statement in ("DROP TABLE accounts", "INSERT INTO accounts (account_id, name) VALUES ('x', 'X')",
                      "SET readonly = 0", f"SELECT 'x' INTO OUTFILE '{outfile}' TRUNCATE FORMAT RawBLOB",
                      "SELECT file('/etc/passwd')"):
        at.text_area(key="sql_text").set_value(statement).run()
        at.button[0].click().run()
        assert at.error and "did not run this query" in at.error[0].value, statement
        assert "readonly" in at.error[0].value.lower() or "read-only" in at.error[0].value.lower(), at.error[0].value
    assert sql_rows(story, "SELECT count() FROM accounts FINAL")[0][0] == 4  # nothing was written
    assert not outfile.exists()  # nor a file (the page once retried a refused query as a plain command)

    at.selectbox(key="sql_example").set_value("Target accounts per owner").run()
    assert "owner_summary" in at.text_area(key="sql_text").value
    at.button[0].click().run()
    owners = at.dataframe[0].value.set_index("owner")
    assert owners.loc["Avery", "target_accounts"] == 2 and owners.loc["Avery", "mqa"] == 1


@pytest.mark.parametrize("page", ["overview", "accounts", "account", "reach", "alerts", "revenue", "influence",
                                  "sales_activity", "data_health", "sql"])
def test_every_page_has_a_friendly_empty_state(blank, dashboard, page):
    at = dashboard(blank, page)
    assert not at.exception and not at.error
    words = texts(at)
    assert "Code:" not in words and "Traceback" not in words and "Exception" not in words
    if page in ("overview", "accounts", "account"):
        assert "pulse up --demo" in words or "pulse accounts import" in words
    if page == "data_health":
        assert "Nothing has been rejected" in words
    if page in ("revenue", "influence"):
        assert "No opportunities yet" in words and "/hooks/crm" in words and "pulse send" in words
    if page == "sales_activity":
        assert "No sales activity yet" in words and "/hooks/calls" in words and "/hooks/crm" in words


def test_pages_say_when_the_database_is_not_reachable(broker, tmp_path, dashboard):
    from ui_fixtures import fresh_settings

    nowhere = fresh_settings(broker, tmp_path)  # nothing listens on its SQL port
    for page in (None, "accounts", "revenue", "influence", "data_health"):
        at = dashboard(nowhere, page)
        assert at.warning and "not answering" in at.warning[0].value
        assert not at.error


def test_password_gate(blank, dashboard):
    at = dashboard(blank, env={"PULSE_UI_PASSWORD": "s3cret"})
    assert not at.metric and "protected" in texts(at)
    at.text_input[0].input("wrong")
    at.button[0].click().run()
    assert at.error and "not right" in at.error[0].value and not at.metric
    at.text_input[0].input("s3cret")
    at.button[0].click().run()
    assert not at.error and "Overview" in [t.value for t in at.title]


def test_a_bad_setting_is_one_clear_line(broker, tmp_path, dashboard):
    from ui_fixtures import fresh_settings

    at = dashboard(fresh_settings(broker, tmp_path), env={"PULSE_PARTITIONS": "many"})
    assert at.error and "PULSE_PARTITIONS" in at.error[0].value and not at.metric


def test_every_sql_example_runs_on_the_views(story):
    from ui.queries import EXAMPLES

    results = {name: sql_rows(story, sql) for name, sql in EXAMPLES.items()}
    assert results["Open pipeline by stage"] == [("Proposal", 1, Decimal("800.00"), Decimal("480.00"))]
    assert dict((s, n) for s, n, _ in results["Target accounts per journey stage"]) == \
        {"customer": 1, "engaged": 1, "unaware": 1}
