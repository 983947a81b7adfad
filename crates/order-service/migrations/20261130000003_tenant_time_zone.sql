-- The shop's time zone (an IANA name, checked by pos_domain::ShopZone): business days, order
-- numbers, date filters, the day's figures and overdue installments follow it (issue 15,
-- item 5). Set at `admin create-tenant`, changed by the owner (PATCH /tenant).
ALTER TABLE tenants ADD COLUMN time_zone text NOT NULL DEFAULT 'Asia/Jakarta';
GRANT UPDATE (time_zone) ON tenants TO order_service_app;
