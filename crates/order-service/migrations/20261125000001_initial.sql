-- The central order-service schema. Every tenant table leads with tenant_id, has row-level
-- security ENABLEd and FORCEd, and one policy comparing tenant_id with the transaction's
-- `app.tenant_id` setting. The runtime role (order_service_app) owns nothing, has no
-- BYPASSRLS, and gets only the privileges granted at the end of this file.

CREATE FUNCTION app_tenant() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT NULLIF(current_setting('app.tenant_id', true), '')::uuid $$;

CREATE TABLE tenants (
    id         uuid PRIMARY KEY,
    slug       text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9][a-z0-9-]{1,62}$'),
    name       text NOT NULL,
    currency   text NOT NULL DEFAULT 'IDR',
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    name            text NOT NULL,
    email           bytea NOT NULL,       -- encrypted
    email_index     bytea NOT NULL,       -- HMAC blind index for login
    role            text NOT NULL CHECK (role IN ('owner', 'manager', 'cashier')),
    password_hash   text,
    pin_hash        text,
    active          boolean NOT NULL DEFAULT true,
    failed_logins   integer NOT NULL DEFAULT 0,
    locked_until    timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email_index)
);

CREATE TABLE orders (
    tenant_id                uuid NOT NULL REFERENCES tenants (id),
    id                       uuid NOT NULL,
    order_number             text NOT NULL,
    order_type               text NOT NULL DEFAULT 'offline' CHECK (order_type IN ('online', 'offline')),
    channel                  text NOT NULL CHECK (channel IN ('walk_in', 'phone')),
    status                   text NOT NULL CHECK (status IN ('pending', 'paid', 'completed', 'deleted')),
    currency                 text NOT NULL,
    customer_name            bytea NOT NULL,
    customer_phone           bytea,
    customer_email           bytea,
    customer_address         bytea,
    notes                    bytea,
    phone_index              bytea,
    email_index              bytea,
    name_tokens              bytea[] NOT NULL DEFAULT '{}',
    items                    jsonb NOT NULL,
    schedule                 jsonb NOT NULL,
    terms                    jsonb NOT NULL,
    subtotal_minor           bigint NOT NULL CHECK (subtotal_minor >= 0),
    discount_minor           bigint NOT NULL CHECK (discount_minor >= 0),
    total_minor              bigint NOT NULL CHECK (total_minor >= 0),
    paid_minor               bigint NOT NULL DEFAULT 0 CHECK (paid_minor >= 0 AND paid_minor <= total_minor),
    business_date            date NOT NULL,
    device_id                uuid,
    recorded_by_user_id      uuid NOT NULL,
    last_modified_by_user_id uuid NOT NULL,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL,
    version                  integer NOT NULL DEFAULT 1,
    completed_at             timestamptz,
    deleted_at               timestamptz,
    deleted_by               uuid,
    delete_reason            bytea,
    approved_by              uuid,
    approver_role            text,
    approved_at              timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, order_number)
);
CREATE INDEX orders_by_created ON orders (tenant_id, created_at DESC, id DESC);
CREATE INDEX orders_by_phone ON orders (tenant_id, phone_index) WHERE phone_index IS NOT NULL;
CREATE INDEX orders_by_email ON orders (tenant_id, email_index) WHERE email_index IS NOT NULL;
CREATE INDEX orders_by_name_token ON orders USING gin (name_tokens);

CREATE TABLE payments (
    tenant_id     uuid NOT NULL,
    id            uuid NOT NULL,
    order_id      uuid NOT NULL,
    amount_minor  bigint NOT NULL CHECK (amount_minor <> 0),
    method        text NOT NULL CHECK (method IN ('cash', 'card', 'bank_transfer', 'check', 'other')),
    paid_at       timestamptz NOT NULL,
    recorded_by   uuid NOT NULL,
    reference     text,
    reverses      uuid,
    approved_by   uuid,
    approver_role text,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
CREATE INDEX payments_by_order ON payments (tenant_id, order_id, created_at);
CREATE UNIQUE INDEX payments_reversed_once ON payments (tenant_id, reverses) WHERE reverses IS NOT NULL;

-- Replayed POSTs: the first response is kept and returned again.
CREATE TABLE idempotency_keys (
    tenant_id    uuid NOT NULL,
    key          text NOT NULL,
    request_hash text NOT NULL,
    status       integer NOT NULL,
    body         jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, key)
);

-- Hash-chained per device; the service's own events use the tenant's id as their device.
CREATE TABLE audit_events (
    tenant_id   uuid NOT NULL,
    device_id   uuid NOT NULL,
    seq         bigint NOT NULL,
    id          uuid NOT NULL,
    at          timestamptz NOT NULL,
    at_text     text NOT NULL,
    actor_id    uuid,
    actor_role  text,
    action      text NOT NULL CHECK (action IN ('CREATE', 'READ', 'UPDATE', 'DELETE', 'ACCESS', 'PAYMENT')),
    entity_type text NOT NULL,
    entity_id   text,
    operation   text NOT NULL,
    detail      text,
    fields      jsonb NOT NULL,
    prev_hash   text NOT NULL,
    hash        text NOT NULL,
    PRIMARY KEY (tenant_id, device_id, seq)
);
CREATE INDEX audit_by_entity ON audit_events (tenant_id, entity_type, entity_id);

-- Transactional outbox: domain events written in the change's transaction.
CREATE TABLE outbox_events (
    tenant_id    uuid NOT NULL,
    seq          bigserial,
    id           uuid NOT NULL,
    event_type   text NOT NULL,
    aggregate_id uuid NOT NULL,
    payload      jsonb NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, seq)
);

CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$;
CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER outbox_events_append_only BEFORE UPDATE OR DELETE ON outbox_events
    FOR EACH ROW EXECUTE FUNCTION refuse_change();
CREATE TRIGGER payments_append_only BEFORE UPDATE OR DELETE ON payments
    FOR EACH ROW EXECUTE FUNCTION refuse_change();

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['users', 'orders', 'payments', 'idempotency_keys', 'audit_events', 'outbox_events'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END $$;
ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (id = app_tenant());
-- The owning (migrating, admin) role reads and creates tenants; the runtime role sees only its own.
CREATE POLICY owner_all ON tenants TO CURRENT_USER USING (true) WITH CHECK (true);

-- Login knows a tenant's slug before it knows its id: this one lookup runs as the owner.
CREATE FUNCTION tenant_id_by_slug(p_slug text) RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public AS $$ SELECT id FROM tenants WHERE slug = p_slug $$;
REVOKE ALL ON FUNCTION tenant_id_by_slug(text) FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO order_service_app;
GRANT SELECT ON tenants TO order_service_app;
GRANT SELECT, INSERT, UPDATE ON users, orders, idempotency_keys TO order_service_app;
GRANT SELECT, INSERT ON payments, audit_events, outbox_events TO order_service_app;
GRANT USAGE ON SEQUENCE outbox_events_seq_seq TO order_service_app;
GRANT EXECUTE ON FUNCTION tenant_id_by_slug(text), app_tenant() TO order_service_app;
