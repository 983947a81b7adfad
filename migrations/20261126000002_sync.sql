-- Sync with the central order-service: the pairing and the client's position in each
-- direction. The device secret itself lives in the OS keyring, never here.
CREATE TABLE sync_state (
    id                  INTEGER PRIMARY KEY CHECK (id = 1),
    server_url          TEXT NOT NULL,
    tenant_id           TEXT NOT NULL,
    paired_at           TEXT NOT NULL,
    -- the newest audit event the service has stored (its chain is continued from there)
    audit_acked_through INTEGER NOT NULL DEFAULT 0,
    -- the position in the service's change feed
    pull_cursor         INTEGER NOT NULL DEFAULT 0,
    last_success_at     TEXT,
    -- server time minus local time at the last exchange, in milliseconds
    clock_offset_ms     INTEGER,
    unpaired_at         TEXT,
    -- every outbox row at or below this sequence is settled (acked, discarded or needing
    -- attention); the next batch is read from here along the primary key (no extra index,
    -- which would cost a page at every recorded change)
    outbox_floor        INTEGER NOT NULL DEFAULT 0
);

-- What the service answered for a mutation that needs attention: its stable code and, for a
-- conflict, the order's state there ({status, version}; no customer data).
ALTER TABLE outbox ADD COLUMN result_code TEXT;
ALTER TABLE outbox ADD COLUMN server_state TEXT;
