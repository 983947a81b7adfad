-- The needs-attention list and its count (shown in the status bar every few seconds) read
-- only the mutations needing attention. A partial index holds just those rows, so recording a
-- change (a pending row) writes no page of it.
CREATE INDEX outbox_needs_attention ON outbox (seq) WHERE state = 'needs_attention';
