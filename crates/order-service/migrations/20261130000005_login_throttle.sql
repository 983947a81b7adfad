-- Wrong passwords per account (tenant and e-mail blind index), known e-mail or not, so that a
-- lockout says nothing about which e-mails exist (see pos_domain::Lockout::SERVICE_LOGIN).
-- Replaces the users table's columns for it, which nothing used.
CREATE TABLE login_throttle (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    email_index   bytea NOT NULL,
    failures      integer NOT NULL CHECK (failures >= 0),
    locked_until  timestamptz,
    PRIMARY KEY (tenant_id, email_index)
);
ALTER TABLE login_throttle ENABLE ROW LEVEL SECURITY;
ALTER TABLE login_throttle FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON login_throttle
    USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());
GRANT SELECT, INSERT, UPDATE, DELETE ON login_throttle TO order_service_app;

ALTER TABLE users DROP COLUMN failed_logins, DROP COLUMN locked_until;
