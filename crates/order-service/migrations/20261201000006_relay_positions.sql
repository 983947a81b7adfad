-- The outbox relay (issue 21): how far each stream has been published to Kafka. A tenant's
-- domain events are one stream (stream = the nil uuid, topic 'order'); each audit chain is one
-- (stream = its device id, topic 'audit'). A position moves only after the broker acknowledged
-- every event up to it. Ids and numbers only: no tenant data, so no row-level security.
CREATE TABLE relay_positions (
    topic      text NOT NULL CHECK (topic IN ('order', 'audit')),
    tenant_id  uuid NOT NULL,
    stream     uuid NOT NULL,
    position   bigint NOT NULL CHECK (position >= 0),
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (topic, tenant_id, stream)
);
GRANT SELECT, INSERT, UPDATE ON relay_positions TO order_service_app;

-- The relay reads tenant by tenant under row-level security; this is how it learns the tenants
-- (their ids only).
CREATE FUNCTION relay_tenant_ids() RETURNS SETOF uuid LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public AS $$ SELECT id FROM tenants ORDER BY id $$;
REVOKE ALL ON FUNCTION relay_tenant_ids() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION relay_tenant_ids() TO order_service_app;
