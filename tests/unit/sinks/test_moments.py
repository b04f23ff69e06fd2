"""Moments as the store writes them (sinks/stage_marks.py): a value ClickHouse returned has no zone and is UTC,
whatever the process's local zone."""
from __future__ import annotations

import os
import time
from datetime import datetime, timezone

import pytest

from sinks.stage_marks import epoch_ms, from_epoch_ms, moment_literal


@pytest.fixture
def new_york():
    before = os.environ.get("TZ")
    os.environ["TZ"] = "America/New_York"
    time.tzset()
    yield
    os.environ.pop("TZ") if before is None else os.environ.update(TZ=before)
    time.tzset()


def test_a_moment_without_a_zone_is_utc_in_any_local_zone(new_york):
    naive = datetime(2026, 1, 1)  # as ClickHouse returns DateTime64(3, 'UTC')
    aware = datetime(2026, 1, 1, tzinfo=timezone.utc)
    assert epoch_ms(naive) == epoch_ms(aware) == 1_767_225_600_000
    assert moment_literal(naive) == moment_literal(aware) == "2026-01-01 00:00:00.000"


@pytest.mark.parametrize("ms", [0, 1_767_225_600_000, 1_796_600_000_123, 1_796_600_000_999])
def test_a_version_read_as_a_moment_is_written_back_as_the_same_version(new_york, ms):
    """A tick stamps its rows with its state version as a moment (streams/stages.Tick), and detect reads them
    by that moment's milliseconds: they must be the version's, in any local zone."""
    at = from_epoch_ms(ms)
    assert epoch_ms(at) == ms and at.tzinfo is not None
    assert moment_literal(at)[-3:] == f"{ms % 1000:03d}"
