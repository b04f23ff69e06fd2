-- Sales activity columns of touches (issue 16): call.outcome, call.rep, meeting.rep, sales_email.rep and
-- sales_email.direction as real columns, for the per-rep activity and SLA views (0700). MATERIALIZED from the
-- stored payload (the validated event as JSON), so the writer's INSERT column list is unchanged, new rows
-- store them at insert, and rows written before this migration get them on read (and at their next merge).
-- `SELECT *` leaves MATERIALIZED columns out, so `INSERT INTO touches SELECT * ...` keeps working.
ALTER TABLE {database}.touches
    ADD COLUMN IF NOT EXISTS rep LowCardinality(String) MATERIALIZED JSONExtractString(payload, 'rep')
        COMMENT 'The sales rep of a call, meeting or sales_email (payload rep); '''' when not given or another type',
    ADD COLUMN IF NOT EXISTS outcome LowCardinality(String) MATERIALIZED
        if(type = 'call', JSONExtractString(payload, 'outcome'), '')
        COMMENT 'A call''s outcome: no_answer, voicemail, connected, conversation, meeting_booked; '''' for other types',
    ADD COLUMN IF NOT EXISTS direction LowCardinality(String) MATERIALIZED
        if(type IN ('call', 'sales_email'), JSONExtractString(payload, 'direction'), '')
        COMMENT 'outbound or inbound for a call or sales_email (inbound email = the person replied); '''' otherwise';
