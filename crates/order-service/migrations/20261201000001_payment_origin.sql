-- Where a payment was taken (issue 19): the counter that pushed it, or NULL for one taken at the
-- office or through the API (and for payments recorded before this column existed).
ALTER TABLE payments ADD COLUMN device_id uuid;
