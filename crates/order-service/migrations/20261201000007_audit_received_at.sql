-- When the service stored each audit event (its own clock), beside `at` (the counter's clock,
-- which an offline counter may report a day late): the outbox relay's lag is measured from it.
-- A constant default for the rows already there (no table rewrite), now() for new ones.
-- The change takes a brief exclusive lock: it gives up rather than queue behind a long reader
-- (and hold every writer up meanwhile); the service then starts again and retries.
SET LOCAL lock_timeout = '10s';
ALTER TABLE audit_events ADD COLUMN received_at timestamptz NOT NULL DEFAULT now();
