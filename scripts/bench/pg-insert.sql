-- pgbench baseline: one durable insert of a row shaped like an order (ids, number, encrypted
-- customer fields as bytea, items and schedule as JSON), autocommit.
INSERT INTO bench_orders (id, tenant_id, order_number, customer_name, customer_phone, items, schedule, total_minor, created_at)
VALUES (gen_random_uuid(), '00000000-0000-0000-0000-000000000001', 'API-' || :client_id || '-' || random(),
        gen_random_bytes(48), gen_random_bytes(40),
        '[{"name":"Rice cooker","quantity":"1","unit_price":750000},{"name":"Kettle","quantity":"2","unit_price":125000,"discount":5000},{"name":"Pan","quantity":"1","unit_price":200000}]',
        '[{"seq":0,"amount":300000},{"seq":1,"amount":395000},{"seq":2,"amount":395000},{"seq":3,"amount":405000}]',
        1195000, now());
