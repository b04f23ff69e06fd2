"""The Influence page's headline sentence from engagement_influence's rows (ui/format.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest

from ui.format import influence_headline


def segments(q1: tuple, q4: tuple, closed: int = 8) -> dict[str, dict]:
    """(win_rate, avg_cycle_days) of q1 and q4; `closed` opportunities spread over the four quartiles."""
    rows = {q: {"opportunities": closed // 4 + (i < closed % 4), "win_rate": None, "avg_cycle_days": None}
            for i, q in enumerate(("q1", "q2", "q3", "q4"))}
    for q, (win, cycle) in (("q1", q1), ("q4", q4)):
        rows[q].update(win_rate=None if win is None else Decimal(win),
                       avg_cycle_days=None if cycle is None else Decimal(cycle))
    return rows


@pytest.mark.parametrize("q1, q4, closed, sentence", [
    (("0.4000", "50.00"), ("0.6000", "41.00"), 8,
     "Opportunities of the most engaged quarter of accounts closed 18% faster than the least engaged quarter's, "
     "and won 1.5× as often."),
    (("0.5000", "40.00"), ("0.5000", "50.00"), 12,
     "Opportunities of the most engaged quarter of accounts closed 25% slower than the least engaged quarter's, "
     "and won 1× as often."),
    (("0.3333", "30.00"), ("1.0000", "30.00"), 9,
     "Opportunities of the most engaged quarter of accounts closed as fast as the least engaged quarter's, "
     "and won 3× as often."),
    (("0.2500", "20.00"), ("0.0000", None), 8,
     "Opportunities of the least engaged quarter of accounts won 25.00% of the time; the most engaged "
     "quarter's have not won yet."),
    (("0.5000", "0.00"), ("1.0000", "4.00"), 8,
     "Opportunities of the most engaged quarter of accounts won 2× as often as the least engaged's."),
    (("0.0000", None), ("0.7500", "10.00"), 8,
     "Opportunities of the most engaged quarter of accounts won 75.00% of the time; the least engaged "
     "quarter's have not won yet."),
    (("0.0000", None), ("0.0000", None), 8,
     "Neither the most nor the least engaged quarter of accounts has won an opportunity yet."),
    ((None, None), (None, None), 7, "Not enough closed opportunities yet: 7 of 8."),
    ((None, None), (None, None), 0, "Not enough closed opportunities yet: 0 of 8."),
])
def test_headline(q1, q4, closed, sentence):
    assert influence_headline(segments(q1, q4, closed)) == sentence
