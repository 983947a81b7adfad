-- The service's clock, not the database server's, decides when a pairing code expires: every
-- timestamp the service compares comes from its one injected clock.
DROP FUNCTION tenant_of_pairing_code(bytea);
CREATE FUNCTION tenant_of_pairing_code(p_hash bytea, p_now timestamptz) RETURNS uuid LANGUAGE sql STABLE SECURITY DEFINER
    SET search_path = public AS
$$ SELECT tenant_id FROM pairing_codes WHERE code_hash = p_hash AND used_at IS NULL AND expires_at > p_now $$;
REVOKE ALL ON FUNCTION tenant_of_pairing_code(bytea, timestamptz) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION tenant_of_pairing_code(bytea, timestamptz) TO order_service_app;

-- The outbox feed (`GET /events`, `GET /sync/pull`) pages by `seq > cursor`. A bigserial alone
-- hands out numbers in insert order, not commit order: a transaction holding seq 55 that
-- commits after another committed 57 would be skipped by a consumer already at 57. So each
-- statement that inserts outbox rows first takes its tenant's outbox lock, held until the
-- transaction ends: a tenant's outbox numbers are drawn and committed one transaction at a
-- time, and every committed row is below every row still to come. The rows are buffered by
-- the service and inserted as a transaction's last statement before COMMIT, so the lock is
-- held for the commit alone.
CREATE FUNCTION outbox_events_in_commit_order() RETURNS trigger LANGUAGE plpgsql AS
$$ BEGIN
    PERFORM pg_advisory_xact_lock(1869902444, hashtext(current_setting('app.tenant_id', true)));
    RETURN NULL;
END $$;
CREATE TRIGGER outbox_events_in_commit_order BEFORE INSERT ON outbox_events
    FOR EACH STATEMENT EXECUTE FUNCTION outbox_events_in_commit_order();

-- An Idempotency-Key is bound to its route and the SHA-256 of its request, and the answer it
-- replays is stored encrypted like the order's fields (it names the customer). The keys stored
-- so far held their answers in plaintext and no binding: they are dropped (a key only serves a
-- client's retries of one request).
TRUNCATE idempotency_keys;
ALTER TABLE idempotency_keys
    DROP COLUMN body,
    DROP COLUMN request_hash,
    ADD COLUMN route text NOT NULL,
    ADD COLUMN request_hash bytea NOT NULL,
    ADD COLUMN body bytea NOT NULL;
