-- A counter restored from an older copy of its store, and counters' clocks (issue 15, item 7).
-- counter_number: the number a counter gave an order when the service had to give it another
--   (the counter's was taken, or not of that counter's series); the counter adopts the new one
--   and keeps its own on the receipt as a reference.
-- claimed_created_at: the time the counter's clock said; created_at is that time unless it lies
--   in the future of the service's receive time (a wrong device clock), when it is received_at.
ALTER TABLE orders
    ADD COLUMN counter_number text,
    ADD COLUMN claimed_created_at timestamptz,
    ADD COLUMN received_at timestamptz;

-- A mutation id names one change: the SHA-256 of what was applied under it, so the same id sent
-- again with another change is refused instead of answered "duplicate" (and lost).
ALTER TABLE sync_mutations ADD COLUMN body_hash bytea;
