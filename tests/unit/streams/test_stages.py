"""Stage changes: once each, with a stable id, nothing when the stage stays."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from streams import stages
from streams.stages import diff

NOW = datetime(2026, 11, 20, tzinfo=timezone.utc)


def test_changes_are_detected_once_with_stable_ids():
    current = {"a": ("aware", Decimal(1)), "b": ("unaware", Decimal(0)), "c": ("mqa", Decimal(120)),
               "d": ("engaged", Decimal(12))}
    recorded = {"c": ("engaged", 2), "d": ("engaged", 3)}
    changes = diff(current, recorded, NOW)
    assert [(c.change_id, c.stage_from, c.stage_to) for c in changes] == [("a:1", "unaware", "aware"),
                                                                           ("c:3", "engaged", "mqa")]


def test_decay_is_a_change_too():
    (change,) = diff({"a": ("unaware", Decimal(0))}, {"a": ("aware", 1)}, NOW)
    assert (change.change_id, change.stage_from, change.stage_to) == ("a:2", "aware", "unaware")


def test_replayed_numbers_publish_nothing():
    assert diff({"a": ("aware", Decimal(1))}, {"a": ("aware", 1)}, NOW) == []


def test_full_evaluations_are_spaced_out_and_incremental_ones_follow_their_touches():
    # a full evaluation may take a fifth of the time; an incremental one half (waiting longer only piles
    # up what it must read next); never more often than EVERY_SECONDS, never less often than the cap
    assert stages._wait(0.1) == stages._wait(0.1, stages.INCREMENTAL_SHARE) == stages.EVERY_SECONDS
    assert stages._wait(4.0) == 20.0
    assert stages._wait(4.0, stages.INCREMENTAL_SHARE) == 8.0
    assert stages._wait(30.0) == stages._wait(40.0, stages.INCREMENTAL_SHARE) == stages.MAX_INTERVAL_S
