-- repeatable: each person's lifecycle funnel kept as the changes arrive (issue 16), so that the funnel views
-- (0500) read one merged row per person instead of every change with FINAL and a sort per person. Re-applied
-- (rebuilt from lifecycle_changes) whenever the funnel order {lifecycle_order} changes: positions are of it.
-- Every column is an order-independent, idempotent aggregate (min, max, minMap, a set): a late older change
-- gives the state it would have given in order, and a change stored twice (two writers racing on one id)
-- changes nothing. Read it with FINAL. A SIGKILL between the lifecycle_changes insert and this view's insert
-- is repaired when the writer starts (sinks/funnel_state_sql.py, REPAIR_FUNNEL_PEOPLE).

DROP VIEW IF EXISTS {database}.funnel_people_feed_mv;

DROP VIEW IF EXISTS {database}.funnel_people_mv;

DROP TABLE IF EXISTS {database}.funnel_people_feed;

DROP TABLE IF EXISTS {database}.funnel_people;

CREATE TABLE {database}.funnel_people
(
    email   String COMMENT 'The person (lifecycle_changes.email)',
    entered SimpleAggregateFunction(minMap, Tuple(Array(UInt8), Array(Int64)))
        COMMENT 'position in the funnel order -> when first reached (ms): the earliest change to it or a later stage',
    named   SimpleAggregateFunction(minMap, Tuple(Array(UInt8), Array(Int64)))
        COMMENT 'position -> the earliest change naming that stage itself (ms): entered there = not skipped',
    first   SimpleAggregateFunction(min, Tuple(DateTime64(3, 'UTC'), String, String))
        COMMENT '(occurred_at, event_id as text, source) of the first change: the person''s source',
    account SimpleAggregateFunction(max, Tuple(DateTime64(3, 'UTC'), String, String))
        COMMENT '(occurred_at, event_id as text, account_id) of the latest change naming an account (1970, '''', '''' when none)',
    owners  SimpleAggregateFunction(groupUniqArrayArray, Array(Tuple(DateTime64(3, 'UTC'), String, String)))
        COMMENT '(occurred_at, event_id as text, owner) of every change naming an owner, in no order'
)
ENGINE = AggregatingMergeTree
ORDER BY email
COMMENT 'One row per person with a lifecycle change after merges (read with FINAL), fed by funnel_people_mv';

-- The changes the state is fed: every stored change (funnel_people_feed_mv), the backfill below and the writer's
-- start-up repair insert here, and funnel_people_mv turns each into the state's columns (stores nothing itself).
CREATE TABLE {database}.funnel_people_feed
(
    event_id    UUID,
    email       String,
    account_id  String,
    stage       String,
    occurred_at DateTime64(3, 'UTC'),
    owner       String,
    source      String
)
ENGINE = Null
COMMENT 'A pipe, never holds rows: what funnel_people_mv reads';

CREATE MATERIALIZED VIEW {database}.funnel_people_mv TO {database}.funnel_people AS
WITH {lifecycle_order} AS stages, toUInt8(indexOf(stages, stage)) AS rank, toUnixTimestamp64Milli(occurred_at) AS ms
SELECT email,
       (arrayMap(p -> toUInt8(p), range(1, rank + 1)), arrayMap(p -> ms, range(1, rank + 1))) AS entered,
       (if(rank > 0, [rank], []), if(rank > 0, [ms], [])) AS named,
       (occurred_at, toString(event_id), source) AS first,
       if(account_id != '', (occurred_at, toString(event_id), account_id), (toDateTime64(0, 3, 'UTC'), '', '')) AS account,
       if(owner != '', [(occurred_at, toString(event_id), owner)], []) AS owners
FROM {database}.funnel_people_feed;

CREATE MATERIALIZED VIEW {database}.funnel_people_feed_mv TO {database}.funnel_people_feed AS
SELECT event_id, email, account_id, stage, occurred_at, owner, source FROM {database}.lifecycle_changes;

-- The history so far (the views above already take what arrives meanwhile; twice is harmless).
INSERT INTO {database}.funnel_people_feed
SELECT event_id, email, account_id, stage, occurred_at, owner, source FROM {database}.lifecycle_changes;
