-- What the office shows of each paired counter (issue 19): when it last pushed and pulled (by
-- the service's clock), how many mutations its last push carried and how many of them the
-- service refused (the counter then has something needing attention).
ALTER TABLE devices
    ADD COLUMN last_push_at timestamptz,
    ADD COLUMN last_push_mutations integer NOT NULL DEFAULT 0,
    ADD COLUMN last_push_refused integer NOT NULL DEFAULT 0,
    ADD COLUMN last_pull_at timestamptz;
