"""spend.csv and goals.csv: valid rows load, every bad row is named by line with all its problems at
once, and a file whose header cannot work is refused whole."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from schemas.money_csv import GOALS, ImportRefused, read, spend_layout
from schemas.registry import GoalRecord, SpendRecord

SPEND = spend_layout("USD")


def test_valid_spend_rows_load_with_the_month_as_its_first_day():
    ignored, records, rejected = read("\ufeffMonth,Category,Amount,Notes\n2026-03,salaries,42000.00,q1\n\n"
                                      "2026-03,Tools & SaaS,0\n2026-04,agencies,12.5\n", SPEND)
    assert ignored == ["notes"] and rejected == []
    assert records == [SpendRecord(month=date(2026, 3, 1), category="salaries", amount=Decimal("42000.00")),
                       SpendRecord(month=date(2026, 3, 1), category="Tools & SaaS", amount=Decimal("0")),
                       SpendRecord(month=date(2026, 4, 1), category="agencies", amount=Decimal("12.5"))]


BAD_SPEND = [
    # (row, [(field, start of the reason)]): every problem of the row at once, in column order
    ("2026-3,salaries,10", [("month", "'2026-3' is not a month")]),
    ("2026-13,salaries,10", [("month", "'2026-13' is not a month")]),
    ("1999-12,salaries,10", [("month", "'1999-12': the year")]),
    ("03/2026,salaries,10", [("month", "'03/2026' is not a month")]),
    ("2026-03,,10", [("category", "missing")]),
    ("2026-03," + "x" * 65 + ",10", [("category", "65 characters")]),
    ("2026-03,=HYPERLINK(\"x\"),10", [("category", "starts with '='")]),
    ("2026-03,@SUM(A1),10", [("category", "starts with '@'")]),
    ("2026-03,tools,-5", [("amount", "'-5' is negative")]),
    ("2026-03,tools,1.234", [("amount", "'1.234' has more than 2 decimals")]),
    ("2026-03,tools,\"1,000.00\"", [("amount", "'1,000.00' is not a plain number")]),
    ("2026-03,tools,$100", [("amount", "'$100' is not a plain number")]),
    ("2026-03,tools,1e3", [("amount", "'1e3' is not a plain number")]),
    ("2026-03,tools,NaN", [("amount", "'NaN' is not a plain number")]),
    ("2026-03,tools,", [("amount", "missing")]),
    ("2026-03,tools,=1+2", [("amount", "starts with '='")]),
    ("2026-03,tools,99999999999999999", [("amount", "'99999999999999999' is larger")]),
    ("2026-03,tools,10,EUR", [("currency", "'EUR' is not the reporting currency USD")]),
    ("2026-03,tools,10,USD,extra", [("$", "5 cells, the header has 4 columns")]),
    ("13-2026,=x,-1", [("month", "'13-2026' is not a month"), ("category", "starts with '='"),
                       ("amount", "'-1' is negative")]),
]


@pytest.mark.parametrize("row, problems", BAD_SPEND, ids=[r for r, _ in BAD_SPEND])
def test_a_bad_spend_row_is_named_field_by_field(row, problems):
    _, records, rejected = read(f"month,category,amount,currency\n2026-01,ok,1.00,usd\n{row}\n", SPEND)
    assert len(records) == 1  # the valid row still loads
    assert [r.line for r in rejected] == [3]
    assert [(f, reason[:len(start)]) for (f, reason), (_, start) in zip(rejected[0].problems, problems)] == problems
    assert len(rejected[0].problems) == len(problems)


def test_a_month_and_category_twice_in_one_file_is_refused_on_the_later_line():
    _, records, rejected = read("month,category,amount\n2026-03,tools,1\n2026-04,tools,2\n2026-03,tools,3\n", SPEND)
    assert [r.amount for r in records] == [Decimal(1), Decimal(2)]
    assert [(r.line, r.problems) for r in rejected] == [
        (4, [("category", "2026-03 'tools' is also on line 2: one row per month and category in a file")])]


def test_goals_take_the_three_metrics_and_whole_customers():
    text = ("month,metric,target\n2026-01,won_amount,150000\n2026-01,new_customers,4\n"
            "2026-01,pipeline_created_amount,500000.50\n2026-02,new_customers,2.5\n2026-02,revenue,1\n"
            "2026-02,won_amount,-1\n2026-01,won_amount,1\n")
    _, records, rejected = read(text, GOALS)
    assert records == [GoalRecord(month=date(2026, 1, 1), metric="won_amount", target=Decimal("150000")),
                       GoalRecord(month=date(2026, 1, 1), metric="new_customers", target=Decimal("4")),
                       GoalRecord(month=date(2026, 1, 1), metric="pipeline_created_amount",
                                  target=Decimal("500000.50"))]
    assert [(r.line, [f for f, _ in r.problems]) for r in rejected] == [
        (5, ["target"]), (6, ["metric"]), (7, ["target"]), (8, ["metric"])]
    assert "whole number" in rejected[0].problems[0][1] and "not one of" in rejected[1].problems[0][1]


@pytest.mark.parametrize("text, reason", [
    ("", "the file is empty"),
    ("month,category\n2026-01,x\n", "missing: amount"),
    ("month,category,amount,Amount\n", "the column 'amount' appears twice"),
    ("month,metric,target\n", None),  # the goals header is not the spend header
])
def test_a_header_that_cannot_work_refuses_the_file(text, reason):
    with pytest.raises(ImportRefused, match=reason or "missing: category, amount"):
        read(text, SPEND)


def test_a_header_only_file_has_no_rows():
    assert read("month,metric,target\n", GOALS) == ([], [], [])
