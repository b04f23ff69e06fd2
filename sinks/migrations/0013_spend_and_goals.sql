-- Spend and goals (issue 15): dimensions fed from the registry topic by `pulse spend import` and
-- `pulse goals import`. {database} is filled in by the migration runner.

CREATE TABLE IF NOT EXISTS {database}.spend
(
    month      Date COMMENT 'The month''s first day (the file says YYYY-MM)',
    category   String COMMENT 'Free text as imported (salaries, tools, agencies, ...), at most 64 characters',
    amount     Decimal(18, 2) COMMENT 'Spent in the month, in the reporting currency (PULSE_CURRENCY)',
    updated_at DateTime64(3, 'UTC') COMMENT 'When the import that wrote the row ran: the latest import wins'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (month, category)
COMMENT 'Money spent per month besides the programs'' costs, for CAC. FINAL: one row per month and category.';

CREATE TABLE IF NOT EXISTS {database}.goals
(
    month      Date COMMENT 'The month''s first day (the file says YYYY-MM)',
    metric     LowCardinality(String) COMMENT 'pipeline_created_amount, won_amount or new_customers',
    target     Decimal(18, 2) COMMENT 'The month''s target: an amount in PULSE_CURRENCY, or a number of customers',
    updated_at DateTime64(3, 'UTC') COMMENT 'When the import that wrote the row ran: the latest import wins'
)
ENGINE = ReplacingMergeTree(updated_at)
ORDER BY (month, metric)
COMMENT 'Monthly revenue targets. Read with FINAL: one row per month and metric.';
