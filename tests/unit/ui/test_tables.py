"""Every table of the dashboard is drawn by ui/components.data_table (full width, no index, "—" in an empty cell),
read from the pages' own code: a page that called st.dataframe itself would show "None" again. The SQL page is
the one exception: it shows the engine's NULL as it is."""
from __future__ import annotations

import ast
from pathlib import Path

VIEWS = Path(__file__).resolve().parents[3] / "ui" / "views"
RAW_TABLES_ALLOWED = {"sql.py"}


def raw_tables(source: str) -> list[int]:
    """The lines of a module that call st.dataframe (or any `<x>.dataframe(...)`) directly."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "dataframe"]


def test_the_pages_draw_their_tables_through_data_table():
    pages = sorted(p for p in VIEWS.glob("*.py") if p.name != "__init__.py")
    assert len(pages) > 8, pages
    found = {p.name: raw_tables(p.read_text()) for p in pages if p.name not in RAW_TABLES_ALLOWED}
    assert {name: lines for name, lines in found.items() if lines} == {}
    assert sum("data_table(" in p.read_text() for p in pages) >= 9


def test_the_check_finds_a_raw_table():
    assert raw_tables("import streamlit as st\nst.dataframe(rows, hide_index=True)\n") == [2]
    assert raw_tables("data_table(rows)\n") == []
