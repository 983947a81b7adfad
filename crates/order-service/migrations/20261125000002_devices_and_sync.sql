-- Paired devices (counters), one-time pairing codes, and the per-mutation idempotency record
-- of sync pushes.

CREATE TABLE devices (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    name        text NOT NULL,
    device_code text NOT NULL,
    secret_hash text NOT NULL,
    paired_by   uuid NOT NULL,
    paired_at   timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, device_code)
);
CREATE UNIQUE INDEX devices_id ON devices (id);

CREATE TABLE pairing_codes (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    code_hash  bytea NOT NULL,
    created_by uuid NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz,
    PRIMARY KEY (tenant_id, code_hash)
);
CREATE UNIQUE INDEX pairing_codes_hash ON pairing_codes (code_hash);

-- One row per applied (or refused) mutation: the same mutation id again gets the same answer.
CREATE TABLE sync_mutations (
    tenant_id   uuid NOT NULL,
    mutation_id uuid NOT NULL,
    device_id   uuid NOT NULL,
    seq         bigint NOT NULL,
    result      jsonb NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, mutation_id)
);

DO $$
DECLARE t text;
BEGIN
    FOREACH t IN ARRAY ARRAY['devices', 'pairing_codes', 'sync_mutations'] LOOP
        EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
        EXECUTE format('ALTER TABLE %I FORCE ROW LEVEL SECURITY', t);
        EXECUTE format('CREATE POLICY tenant_isolation ON %I USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant())', t);
    END LOOP;
END $$;
-- The owner role resolves a pairing code or a device to its tenant (before a tenant is known).
CREATE POLICY owner_lookup ON pairing_codes FOR SELECT TO CURRENT_USER USING (true);
CREATE POLICY owner_lookup ON devices FOR SELECT TO CURRENT_USER USING (true);

CREATE FUNCTION tenant_of_pairing_code(p_hash bytea) RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public AS
$$ SELECT tenant_id FROM pairing_codes WHERE code_hash = p_hash AND used_at IS NULL AND expires_at > now() $$;
CREATE FUNCTION tenant_of_device(p_device uuid) RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public AS
$$ SELECT tenant_id FROM devices WHERE id = p_device AND revoked_at IS NULL $$;
REVOKE ALL ON FUNCTION tenant_of_pairing_code(bytea), tenant_of_device(uuid) FROM PUBLIC;

GRANT SELECT, INSERT, UPDATE ON devices, pairing_codes TO order_service_app;
GRANT SELECT, INSERT ON sync_mutations TO order_service_app;
GRANT EXECUTE ON FUNCTION tenant_of_pairing_code(bytea), tenant_of_device(uuid) TO order_service_app;

-- Staff adopted from a counter have a PIN but no e-mail or password.
ALTER TABLE users ALTER COLUMN email DROP NOT NULL, ALTER COLUMN email_index DROP NOT NULL;
