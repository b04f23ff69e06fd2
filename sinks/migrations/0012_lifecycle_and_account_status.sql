-- Funnel records from the CRM (issue 16). {database} is filled in by the migration runner.

CREATE TABLE IF NOT EXISTS {database}.lifecycle_changes
(
    event_id    UUID COMMENT 'Given or derived from the content: a re-sent change has the same id and counts once',
    email       String COMMENT 'The person (trimmed, lower-cased)',
    account_id  String COMMENT 'The CRM''s account of the person when it gave one; '''' otherwise',
    stage       LowCardinality(String) COMMENT 'One of PULSE_LIFECYCLE_STAGES at the time it was taken',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When the CRM changed the stage: the latest change is the current stage',
    received_at DateTime64(3, 'UTC') COMMENT 'When the worker took it',
    owner       String COMMENT 'The rep the lead is assigned to',
    lead_status String COMMENT 'Free text: new, attempting, connected, unqualified, ...',
    source      LowCardinality(String) COMMENT 'marketing, sales, partner or other text',
    payload     String COMMENT 'The validated change as JSON',
    writer      String COMMENT 'The worker that wrote it'
)
ENGINE = ReplacingMergeTree
ORDER BY event_id
COMMENT 'Every lifecycle change, once per event_id (the writer keeps the first version of an id, as for touches).';

CREATE TABLE IF NOT EXISTS {database}.account_statuses
(
    event_id    UUID COMMENT 'Given or derived from the content: a re-sent status has the same id and counts once',
    account_id  String COMMENT 'The CRM''s account id, the id space of pulse accounts import (may be unregistered)',
    status      LowCardinality(String) COMMENT 'accepted, rejected, not_interested or reopened',
    occurred_at DateTime64(3, 'UTC') COMMENT 'When sales decided: the latest decision is the account''s status',
    received_at DateTime64(3, 'UTC') COMMENT 'When the worker took it',
    reason      String COMMENT 'Why (at most 512 characters); '''' when not given',
    owner       String COMMENT 'The rep who decided',
    payload     String COMMENT 'The validated status as JSON',
    writer      String COMMENT 'The worker that wrote it'
)
ENGINE = ReplacingMergeTree
ORDER BY event_id
COMMENT 'Every sales decision on an account, once per event_id.';
