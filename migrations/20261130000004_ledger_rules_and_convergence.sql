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

-- Orders this counter could not bring to the service's state at a pull because changes of its
-- own were still waiting (issue 15, item 6): asked for again (POST /sync/orders) once settled.
CREATE TABLE pull_deferred (
    order_id TEXT PRIMARY KEY REFERENCES orders (id)
) WITHOUT ROWID;

-- A payment taken here that the service refused and a manager discarded stays in this ledger
-- as the record of what happened, marked as not on the service; the order's paid amount follows
-- the service's ledger (issue 15, item 6). Setting the mark once is the only change a payment
-- row may ever take.
ALTER TABLE payments ADD COLUMN not_on_service_at TEXT;
DROP TRIGGER payments_no_update;
CREATE TRIGGER payments_no_update BEFORE UPDATE ON payments
WHEN NOT (OLD.not_on_service_at IS NULL AND NEW.not_on_service_at IS NOT NULL
    AND NEW.id IS OLD.id AND NEW.order_id IS OLD.order_id AND NEW.amount_minor IS OLD.amount_minor
    AND NEW.method IS OLD.method AND NEW.paid_at IS OLD.paid_at AND NEW.recorded_by IS OLD.recorded_by
    AND NEW.reference IS OLD.reference AND NEW.reverses IS OLD.reverses
    AND NEW.approved_by IS OLD.approved_by AND NEW.approver_role IS OLD.approver_role
    AND NEW.approval_reason IS OLD.approval_reason AND NEW.approved_at IS OLD.approved_at
    AND NEW.created_at IS OLD.created_at)
BEGIN SELECT RAISE(ABORT, 'payments are append-only'); END;

-- A restored counter and clocks (issue 15, item 7): the number this counter first gave an order
-- the service renumbered (kept as a reference on the receipt), and the newest hybrid logical
-- clock value seen from the service, so the clock never goes back across a restart.
ALTER TABLE orders ADD COLUMN counter_number TEXT;
ALTER TABLE sync_state ADD COLUMN hlc_seen TEXT;

-- A payment is reversed once among the entries that count: a reversal of this counter's that the
-- service never took (discarded, marked above) does not stop the service's own from coming in.
DROP INDEX payments_reversed_once;
CREATE UNIQUE INDEX payments_reversed_once ON payments (order_id, reverses)
    WHERE reverses IS NOT NULL AND not_on_service_at IS NULL;
