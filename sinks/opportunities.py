"""Opportunity snapshots into `opportunity_snapshots`, each event id once: the CRM-record writer
(sinks/crm_records.py) for that table, kept under its name for its callers."""
from __future__ import annotations

from typing import Sequence

from schemas.rows import OpportunityRow
from sinks.crm_records import TABLES, write_table
from sinks.writer import ClickHouseWriter


def write_opportunities(writer: ClickHouseWriter, rows: Sequence[OpportunityRow]) -> tuple[int, int, int]:
    """Store the snapshots not stored yet. Returns (written, duplicates, dead-lettered)."""
    return write_table(writer, TABLES[OpportunityRow], rows)
