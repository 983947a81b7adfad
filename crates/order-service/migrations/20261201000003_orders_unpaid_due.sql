-- The office's orders list at scale (issue 19's bench: 100,000 orders in a tenant).
--
-- unpaid_due: the earliest due date that what was paid does not cover
-- (pos_domain::figures::unpaid_due), written with every change of an order's schedule or paid
-- amount, so "overdue only" is a comparison with the shop's day instead of reading every open
-- order's schedule. 'infinity' when nothing is left unpaid; NULL where it was never computed
-- (orders from before this migration until `order-service migrate` fills them): such an order
-- stays a candidate that the service checks with the rule itself, so none is ever missed.
ALTER TABLE orders ADD COLUMN unpaid_due date;

-- The list's counts and money totals read only these columns: an index-only scan of small
-- tuples instead of the wide rows (sealed customer fields, items, schedule).
CREATE INDEX orders_figures ON orders (tenant_id, business_date)
    INCLUDE (status, channel, device_id, total_minor, paid_minor, unpaid_due);

-- "Overdue only": the open orders by their earliest unpaid due date.
CREATE INDEX orders_open_by_unpaid_due ON orders (tenant_id, unpaid_due) WHERE status = 'pending';
