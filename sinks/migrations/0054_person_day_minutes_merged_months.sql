-- Issue 17: the kept person-days of a month no tick writes to any more are merged into one part. A lookup of
-- a person (one recomputed whole) or of a late person-day searches every part that may hold it, found or not,
-- and the merges leave about six parts a month for good (they do not rewrite a big part to take in a small
-- one): on the 100M bench store, 1,000 returning people's rows took 1.35-1.45 s from 84 parts in 14 months
-- and 0.60-0.64 s from one part a month; 1,000 late person-days 1.17 s and 0.55-0.57 s (BENCHMARKS.md).
-- A month's partition is merged once an hour has passed without a write to it: this month's, which every
-- tick writes to, keeps the ordinary merges. Each such merge rewrites the month once (about 300 MB at 100M
-- touches), in the background.
ALTER TABLE {database}.person_day_minutes
    MODIFY SETTING min_age_to_force_merge_seconds = 3600, min_age_to_force_merge_on_partition_only = 1;
