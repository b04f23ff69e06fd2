"""The worker's stage evaluations (stage_marks, sinks/migrations/0037_stage_evaluation_times.sql) as Data health
reads them; ui/queries.py re-exports this, so `pulse bench` finds every page's queries in one place."""
from __future__ import annotations

# The stage evaluations of the last hour: the latest (when, how long, how many accounts, why), how many ran,
# and the longest gap between the starts of two of them. A stage change is published when the evaluation
# after its touch ends, so the longest gap plus the longest evaluation bounds how late one was in that hour.
# No row when none ran (an aggregate over nothing would be one row of zeros).
STAGE_EVALUATIONS = """
SELECT toTimeZone(max(marked_at), 'UTC') AS last_at, argMax(took_ms, marked_at) AS last_took_ms,
       argMax(decided, marked_at) AS last_decided, argMax(kind, marked_at) AS last_kind,
       count() AS evaluations, round(quantileExactInclusive(0.5)(took_ms)) AS median_took_ms, max(took_ms) AS max_took_ms,
       arrayMax(arrayDifference(arraySort(groupArray(toUnixTimestamp64Milli(marked_at))))) AS max_gap_ms
FROM stage_marks
WHERE marked_at > now64(3, 'UTC') - INTERVAL 1 HOUR
HAVING count() > 0
"""
