-- One account's opportunities (the Account page, an analyst's `opportunities WHERE account_id = ...`) read the
-- kept latest snapshots (0018), ordered by opportunity_id: without an index that is every opportunity, 250,000
-- at the bench's size. A bloom filter on account_id lets the read skip the granules without the account.
-- FINAL stays exact with it: the engine's exact mode (use_skip_indexes_if_final_exact_mode, on by default)
-- also reads every granule holding a newer version of an opportunity found, so one moved to another account by
-- a later snapshot never shows at its old one (tests/integration/sinks/test_opportunity_account_index.py).
-- MATERIALIZE indexes the parts already stored, in the background; two workers running this at once is harmless.
ALTER TABLE {database}.opportunity_latest ADD INDEX IF NOT EXISTS by_account account_id TYPE bloom_filter GRANULARITY 1;
ALTER TABLE {database}.opportunity_latest MATERIALIZE INDEX by_account;
