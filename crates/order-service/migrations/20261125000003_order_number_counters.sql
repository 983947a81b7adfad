-- Order numbers of API-created orders (API-YYYYMMDD-NNNN) come from a per-tenant, per-day
-- counter bumped in its own short transaction, instead of counting the day's orders under a
-- lock held until the order's commit (which serialised every create of a tenant and slowed
-- down as the day filled). A rolled-back create leaves a gap; a number is never given twice.
CREATE TABLE order_number_counters (
    tenant_id uuid NOT NULL REFERENCES tenants(id),
    day       date NOT NULL,
    last      bigint NOT NULL,
    PRIMARY KEY (tenant_id, day)
);
ALTER TABLE order_number_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE order_number_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON order_number_counters
    USING (tenant_id = app_tenant()) WITH CHECK (tenant_id = app_tenant());
GRANT SELECT, INSERT, UPDATE ON order_number_counters TO order_service_app;
-- Days already numbered the old way continue after their highest number.
INSERT INTO order_number_counters (tenant_id, day, last)
SELECT tenant_id, to_date(substr(order_number, 5, 8), 'YYYYMMDD'), max(substr(order_number, 14)::bigint)
FROM orders WHERE order_number ~ '^API-[0-9]{8}-[0-9]+$'
GROUP BY 1, 2;
