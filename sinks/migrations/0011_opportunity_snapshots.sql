-- Opportunities from the CRM (issue 15). {database} is filled in by the migration runner.

CREATE TABLE IF NOT EXISTS {database}.opportunity_snapshots
(
    event_id       UUID COMMENT 'Given or derived from the content: a re-sent snapshot has the same id and counts once',
    opportunity_id String COMMENT 'The CRM''s opportunity id',
    account_id     String COMMENT 'The CRM''s account id, the id space of pulse accounts import (may be unregistered)',
    occurred_at    DateTime64(3, 'UTC') COMMENT 'When the CRM changed the opportunity: the latest snapshot is its state',
    received_at    DateTime64(3, 'UTC') COMMENT 'When the worker took it',
    stage          String COMMENT 'Stage as the CRM names it',
    is_closed      UInt8,
    is_won         UInt8 COMMENT '1 only when is_closed',
    amount         Decimal(18, 2) COMMENT 'In the reporting currency (PULSE_CURRENCY)',
    currency       LowCardinality(String),
    created_at     DateTime64(3, 'UTC') COMMENT 'When the opportunity was created in the CRM',
    close_date     Date COMMENT 'Expected close while open, the actual close once closed',
    name           String,
    owner          String COMMENT 'The rep',
    source         LowCardinality(String) COMMENT 'Lead source: marketing, sales, partner or other text',
    type           LowCardinality(String) COMMENT 'new_business, renewal or expansion',
    program_id     String COMMENT 'The CRM''s primary campaign',
    probability    Nullable(UInt8) COMMENT '0-100, when the CRM gives one',
    payload        String COMMENT 'The validated snapshot as JSON',
    writer         String COMMENT 'The worker that wrote it'
)
ENGINE = ReplacingMergeTree
ORDER BY event_id
COMMENT 'Every opportunity snapshot, once per event_id (the writer keeps the first version of an id, as for touches).';
