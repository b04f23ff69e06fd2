"""Which ClickHouse errors are retried, how a refused row is isolated, the outage switch drawn as a timeline."""
from __future__ import annotations

import pytest
from clickhouse_connect.driver.exceptions import DatabaseError, DataError, OperationalError

from sinks.faults import InjectedOutage, OutageSwitch, insert_isolating_bad_rows, is_retryable


@pytest.mark.parametrize("exc, retry", [
    (OperationalError("connection refused"), True),
    (InjectedOutage("injected outage"), True),
    (DatabaseError("Code: 252. DB::Exception: Too many parts (TOO_MANY_PARTS)"), True),
    (DatabaseError("Code: 241. DB::Exception: Memory limit exceeded (MEMORY_LIMIT_EXCEEDED)"), True),
    (DataError("Unable to create native array for column `minutes`: error"), False),
    (DatabaseError("Code: 27. DB::Exception: Cannot parse input (CANNOT_PARSE_INPUT_ASSERTION_FAILED)"), False),
    (DatabaseError("Code: 407. DB::Exception: Decimal math overflow (DECIMAL_OVERFLOW)"), False),
])
def test_which_errors_are_retried(exc, retry):
    assert is_retryable(exc) is retry


def test_bisecting_finds_the_refused_rows_and_keeps_the_rest():
    stored_parts = []

    def insert(part):  # the store refuses 13 and 40, and stores nothing of a part that holds one
        if 13 in part or 40 in part:
            raise DataError("Unable to create native array for column `minutes`: error")
        stored_parts.append(list(part))

    stored, refused = insert_isolating_bad_rows(insert, list(range(64)))
    assert sorted(stored) == [i for i in range(64) if i not in (13, 40)]
    assert sorted(sum(stored_parts, [])) == sorted(stored)          # each stored row inserted once
    assert [row for row, _ in refused] == [13, 40]
    assert len(stored_parts) <= 2 * 6 * 2                           # about 2 log2(n) inserts per bad row


def test_a_retryable_error_is_not_bisected():
    def insert(part):
        raise OperationalError("server went away")

    with pytest.raises(OperationalError):
        insert_isolating_bad_rows(insert, [1, 2, 3])


def test_outage_switch_timeline():
    clock = [100.0]
    switch = OutageSwitch(clock=lambda: clock[0])
    switch.check("db.touches")                       # t=100: not armed
    switch.fail_for(30)
    clock[0] = 129.5                                 # t=129.5: still failing
    with pytest.raises(InjectedOutage, match="touches"):
        switch.check("db.touches")
    clock[0] = 130.0                                 # t=130: over
    switch.check("db.touches")
