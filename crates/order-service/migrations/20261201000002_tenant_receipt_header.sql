-- The shop's receipt header (issue 19): the lines printed above each receipt (the shop's
-- address, its tax number...), set in the office's shop settings. Empty: none.
ALTER TABLE tenants ADD COLUMN receipt_header text NOT NULL DEFAULT '';
GRANT UPDATE (name, receipt_header) ON tenants TO order_service_app;
