-- The ledger's rules, enforced by the store as well as by pos_domain::ledger (issue 15, item 2):
-- a reversing entry reverses exactly one payment of its own order (sign, approval and "once"
-- are already CHECKs and a unique index of the payments table), and an order that still holds
-- money is not deleted (refund before delete).
CREATE TRIGGER payments_reversal_is_exact BEFORE INSERT ON payments
WHEN NEW.reverses IS NOT NULL AND NOT EXISTS (
    SELECT 1 FROM payments p
    WHERE p.order_id = NEW.order_id AND p.id = NEW.reverses
      AND p.reverses IS NULL AND p.amount_minor = -NEW.amount_minor
)
BEGIN SELECT RAISE(ABORT, 'a reversing entry reverses exactly one payment of its order'); END;

CREATE TRIGGER orders_deleted_hold_no_money BEFORE UPDATE OF status ON orders
WHEN NEW.status = 'deleted' AND NEW.paid_minor <> 0
BEGIN SELECT RAISE(ABORT, 'an order that holds money cannot be deleted'); END;
