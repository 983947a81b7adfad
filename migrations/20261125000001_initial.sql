-- The desktop's local store. Customer PII (name, phone, email, address, notes, deletion
-- reasons) is stored only as AES-256-GCM ciphertext; phone and email also get an HMAC blind
-- index for exact search. Money is integer minor units of the shop's currency.

CREATE TABLE device (
    id           INTEGER PRIMARY KEY CHECK (id = 1),
    device_id    TEXT NOT NULL,
    -- ciphertext of a known value: proves at open that the keyring holds this store's key
    key_check    BLOB NOT NULL,
    created_at   TEXT NOT NULL
);

CREATE TABLE settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE staff (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    pin_hash        TEXT NOT NULL,
    active          INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    failed_attempts INTEGER NOT NULL DEFAULT 0,
    locked_until    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- Laid out so that recording an order touches as few B-tree pages as possible (each one is a
-- page in the WAL at every durable commit): the order row carries its items and schedule as
-- JSON (no PII in either), ids are UUIDv7 so the id index is also creation order (the list and
-- the date filters need no extra index, and an order number, which names its day, is found
-- within that day's id range). A rowid table:
-- its ~1.5 KB rows would spill to overflow pages in a WITHOUT ROWID table.
CREATE TABLE orders (
    id               TEXT NOT NULL UNIQUE,
    -- unique per device and day by construction: numbers are handed out under the store's
    -- single write lock (an index here would cost a WAL page at every order)
    order_number     TEXT NOT NULL,
    channel          TEXT NOT NULL CHECK (channel IN ('walk_in', 'phone')),
    status           TEXT NOT NULL CHECK (status IN ('pending', 'paid', 'completed', 'deleted')),
    currency         TEXT NOT NULL,
    customer_name    BLOB NOT NULL,
    customer_phone   BLOB,
    customer_email   BLOB,
    customer_address BLOB,
    notes            BLOB,
    phone_index      BLOB,
    email_index      BLOB,
    items            TEXT NOT NULL,
    schedule         TEXT NOT NULL,
    subtotal_minor   INTEGER NOT NULL CHECK (subtotal_minor >= 0),
    discount_minor   INTEGER NOT NULL CHECK (discount_minor >= 0),
    total_minor      INTEGER NOT NULL CHECK (total_minor >= 0),
    paid_minor       INTEGER NOT NULL DEFAULT 0 CHECK (paid_minor >= 0 AND paid_minor <= total_minor),
    terms            TEXT NOT NULL,
    business_date    TEXT NOT NULL,
    recorded_by      TEXT NOT NULL REFERENCES staff (id),
    last_modified_by TEXT NOT NULL REFERENCES staff (id),
    created_at       TEXT NOT NULL,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL,
    hlc              TEXT NOT NULL,
    -- outbox mutations of this order not yet acknowledged by the service / needing attention
    unsynced         INTEGER NOT NULL DEFAULT 0 CHECK (unsynced >= 0),
    sync_attention   INTEGER NOT NULL DEFAULT 0 CHECK (sync_attention >= 0),
    completed_at     TEXT,
    deleted_at       TEXT,
    deleted_by       TEXT REFERENCES staff (id),
    delete_reason    BLOB,
    approved_by      TEXT REFERENCES staff (id),
    approver_role    TEXT,
    approved_at      TEXT
);
-- Phone, e-mail and name search run on an in-memory index (see search_index.rs), so recording
-- an order writes no random-position index pages for them.

-- The payment ledger is append-only: a mistake is corrected by a reversing entry.
CREATE TABLE payments (
    order_id        TEXT NOT NULL REFERENCES orders (id),
    id              TEXT NOT NULL,
    amount_minor    INTEGER NOT NULL CHECK (amount_minor <> 0),
    method          TEXT NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'check', 'other')),
    paid_at         TEXT NOT NULL,
    recorded_by     TEXT NOT NULL REFERENCES staff (id),
    reference       TEXT,
    reverses        TEXT,
    approved_by     TEXT REFERENCES staff (id),
    approver_role   TEXT,
    approval_reason BLOB,
    approved_at     TEXT,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (order_id, id),
    CHECK ((reverses IS NULL AND amount_minor > 0) OR (reverses IS NOT NULL AND amount_minor < 0 AND approved_by IS NOT NULL))
) WITHOUT ROWID;
CREATE UNIQUE INDEX payments_reversed_once ON payments (order_id, reverses) WHERE reverses IS NOT NULL;
CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
BEGIN SELECT RAISE(ABORT, 'payments are append-only'); END;
CREATE TRIGGER payments_no_delete BEFORE DELETE ON payments
BEGIN SELECT RAISE(ABORT, 'payments are append-only'); END;

-- Hash-chained, append-only audit trail of this device.
CREATE TABLE audit_events (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL,
    device_id   TEXT NOT NULL,
    at          TEXT NOT NULL,
    actor_id    TEXT,
    actor_role  TEXT,
    action      TEXT NOT NULL CHECK (action IN ('CREATE', 'READ', 'UPDATE', 'DELETE', 'ACCESS', 'PAYMENT')),
    entity_type TEXT NOT NULL,
    entity_id   TEXT,
    operation   TEXT NOT NULL,
    detail      TEXT,
    fields      TEXT NOT NULL,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL
);
CREATE TRIGGER audit_events_no_update BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;
CREATE TRIGGER audit_events_no_delete BEFORE DELETE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END;

-- Sync outbox: one row per change, written in the change's own transaction, in order. The
-- payload holds PII and is encrypted like the order's fields.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY,
    mutation_id TEXT NOT NULL,
    order_id    TEXT NOT NULL,
    kind        TEXT NOT NULL,
    hlc         TEXT NOT NULL,
    payload     BLOB NOT NULL,
    created_at  TEXT NOT NULL,
    state       TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'acked', 'needs_attention', 'discarded')),
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT,
    acked_at    TEXT
);
CREATE TRIGGER outbox_counts_unsynced AFTER INSERT ON outbox
BEGIN UPDATE orders SET unsynced = unsynced + 1 WHERE id = NEW.order_id; END;
