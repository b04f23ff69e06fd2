-- Issue 17: what the traffic behaviour rules read (sinks/traffic_sql.py), kept as the touches arrive, ordered by
-- the groups the rules judge: a cookie's day of page views ('web'), a cookieless address's ('web_ip'), an
-- email's day of one campaign ('mail'). The behaviour pass judges again only the groups that took a touch since
-- its last pass, and reads each by its number here, instead of every stored touch of each day a late touch
-- landed on (30 days of touches on a store of 100M: 45-56 s a pass). By when a version was stored, not received:
-- a worker behind its backlog stores touches the hooks took minutes earlier. Every version of a touch comes
-- through the view and the highest is kept (ReplacingMergeTree by version): the inputs are the same in every
-- version, the stored verdict is the latest's, and a touch or version stored twice changes nothing.
-- Erasure deletes the erased people's touches here by id (sinks/erasure.py); TTL as touches'.
CREATE TABLE IF NOT EXISTS {database}.traffic_inputs
(
    day            Date COMMENT 'touches.day: the reporting day the rules count in',
    rule           LowCardinality(String) COMMENT 'web (page views of a cookie), web_ip (of a cookieless address), mail (opens and clicks of an email and campaign)',
    key            String COMMENT 'The cookie, the truncated address, or the email',
    program_id     String COMMENT 'mail: the campaign; empty for web',
    grp            UInt64 COMMENT 'sipHash64(rule, key, program_id): the group, as the table is ordered (a collision only reads a second group)',
    event_id       UUID COMMENT 'The touch (touches.event_id)',
    type           LowCardinality(String) COMMENT 'page_view, page_engagement, email_open or email_click',
    ms             Int64 COMMENT 'occurred_at in Unix milliseconds',
    url            String COMMENT 'email_click: the link (the link-burst rule counts them); empty otherwise',
    engaged        UInt32 COMMENT 'engaged_seconds of a page view or heartbeat',
    pixel          UInt8 COMMENT '1 for a page view of the no-script pixel (never reports engaged time)',
    traffic        LowCardinality(String) COMMENT 'touches.traffic of this version',
    traffic_reason String COMMENT 'touches.traffic_reason of this version',
    stored_at      DateTime64(3, 'UTC') COMMENT 'When this version was stored (history before 0048: its received_at)',
    version        UInt64 COMMENT 'touches.version: the highest is the current one',
    INDEX idx_stored_at stored_at TYPE minmax GRANULARITY 1
)
ENGINE = ReplacingMergeTree(version)
PARTITION BY toYYYYMM(day)
ORDER BY (day, grp, event_id)
TTL day + INTERVAL {retention_months} MONTH
-- a pass looks up a few hundred thousand groups scattered over the year (late arrivals): by a number, in granules
-- of 256 rows, it reads about 8M rows for 300,000 arrivals on a store of 100M (1.4 s), by the strings in granules
-- of 8,192, most of the table (16 s)
SETTINGS index_granularity = 256
COMMENT 'The behaviour rules'' inputs per touch, by the group they judge (traffic_inputs_mv); one row per touch after merges';

CREATE MATERIALIZED VIEW IF NOT EXISTS {database}.traffic_inputs_mv TO {database}.traffic_inputs AS
SELECT day, multiIf(type IN ('email_open', 'email_click'), 'mail', anonymous_id != '', 'web', 'web_ip') AS rule,
       multiIf(rule = 'mail', email, rule = 'web', anonymous_id, ip) AS key,
       if(rule = 'mail', program_id, '') AS program_id, sipHash64(rule, key, program_id) AS grp, event_id, type,
       toUnixTimestamp64Milli(occurred_at) AS ms, if(type = 'email_click', url, '') AS url,
       if(type IN ('page_view', 'page_engagement'), JSONExtractUInt(payload, 'engaged_seconds'), 0) AS engaged,
       type = 'page_view' AND JSONExtractString(payload, 'source') = 'pixel' AS pixel,
       traffic, traffic_reason, now64(3, 'UTC') AS stored_at, version
FROM {database}.touches
WHERE (type IN ('page_view', 'page_engagement') AND (anonymous_id != '' OR ip != ''))
   OR (type IN ('email_open', 'email_click') AND email != '');

-- The history so far, by the view's own SELECT (a view that writes TO a table cannot populate it); the view
-- already takes what arrives meanwhile, and a row twice is harmless.
INSERT INTO {database}.traffic_inputs
SELECT day, multiIf(type IN ('email_open', 'email_click'), 'mail', anonymous_id != '', 'web', 'web_ip') AS rule,
       multiIf(rule = 'mail', email, rule = 'web', anonymous_id, ip) AS key,
       if(rule = 'mail', program_id, '') AS program_id, sipHash64(rule, key, program_id) AS grp, event_id, type,
       toUnixTimestamp64Milli(occurred_at) AS ms, if(type = 'email_click', url, '') AS url,
       if(type IN ('page_view', 'page_engagement'), JSONExtractUInt(payload, 'engaged_seconds'), 0) AS engaged,
       type = 'page_view' AND JSONExtractString(payload, 'source') = 'pixel' AS pixel,
       traffic, traffic_reason, received_at AS stored_at, version
FROM {database}.touches
WHERE (type IN ('page_view', 'page_engagement') AND (anonymous_id != '' OR ip != ''))
   OR (type IN ('email_open', 'email_click') AND email != '');
