-- The ledger's rules, enforced by the database as well as by pos_domain::ledger (issue 15,
-- item 2), so no path — REST, sync push, a future one — can move money without them:
--   * a payment is positive; a reversing entry is negative, names a payment of the same order,
--     reverses exactly its amount, once, and carries an owner's or manager's approval;
--   * an order that still holds money is not deleted (refund before delete).
-- The CHECK constraints are NOT VALID so that a database holding rows written before these
-- rules still migrates; every new or changed row is checked. Run
-- `ALTER TABLE ... VALIDATE CONSTRAINT ...` once such rows have been reviewed.

ALTER TABLE payments ADD CONSTRAINT payments_sign_and_approval CHECK (
    (reverses IS NULL AND amount_minor > 0)
    OR (reverses IS NOT NULL AND amount_minor < 0 AND reverses <> id
        AND approved_by IS NOT NULL AND approver_role IN ('owner', 'manager'))
) NOT VALID;

-- A reversal references a payment of its own order (the FK is not checked when reverses is NULL).
CREATE UNIQUE INDEX payments_order_and_id ON payments (tenant_id, order_id, id);
ALTER TABLE payments ADD CONSTRAINT payments_reverses_same_order
    FOREIGN KEY (tenant_id, order_id, reverses) REFERENCES payments (tenant_id, order_id, id) NOT VALID;

CREATE FUNCTION payments_reversal_is_exact() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.reverses IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM payments p
        WHERE p.tenant_id = NEW.tenant_id AND p.order_id = NEW.order_id AND p.id = NEW.reverses
          AND p.reverses IS NULL AND p.amount_minor = -NEW.amount_minor
    ) THEN
        RAISE EXCEPTION 'a reversing entry reverses exactly one payment of its order'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER payments_reversal_is_exact BEFORE INSERT ON payments
    FOR EACH ROW EXECUTE FUNCTION payments_reversal_is_exact();

ALTER TABLE orders ADD CONSTRAINT orders_deleted_hold_no_money
    CHECK (status <> 'deleted' OR paid_minor = 0) NOT VALID;

-- A reversal keeps its approval whole (why, and when), as the counters do, so it can be pulled
-- by every counter of the shop; the reason is encrypted like every free-text field.
ALTER TABLE payments ADD COLUMN approval_reason bytea, ADD COLUMN approved_at timestamptz;
