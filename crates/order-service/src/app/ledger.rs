//! Money moving on an order: a payment or a reversing entry posted to the ledger
//! (`pos_domain::ledger` decides whether it may be).

use crate::db::orders::{self, Locked};
use crate::db::payments::{self, NewEntry};
use crate::db::Tx;
use crate::error::ApiResult;
use crate::metrics::Count;
use chrono::{DateTime, Utc};
use pos_domain::{Money, OrderStatus, Standing};
use pos_protocol::{events, DomainEvent};
use sqlx::postgres::PgRow;
use uuid::Uuid;

/// An entry posted: its row, and the order's paid amount and status after it.
pub struct Posted {
    pub row: PgRow,
    pub paid: Money,
    pub status: OrderStatus,
}

/// Posts `entry` (accepted by the ledger rule) to the locked `order`: the ledger row, the
/// order's new paid amount and the status that follows, the `payment.received` or
/// `payment.reversed` event (naming `device` when it came from one), and the payment count.
/// `by`, when given, becomes the order's last modifier.
pub async fn post(
    tx: &mut Tx,
    tenant: Uuid,
    order: &Locked,
    entry: NewEntry<'_>,
    by: Option<Uuid>,
    device: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiResult<Posted> {
    let (id, order_id, amount, reverses) = (entry.id, entry.order_id, entry.amount, entry.reverses);
    let row = payments::insert(tx, tenant, order.currency, entry, device, now).await?;
    let paid = order.paid + amount;
    let status = OrderStatus::of(Standing::live(paid, order.total, order.completed));
    orders::set_paid(tx, tenant, order_id, order, paid, status, now, by).await?;
    if reverses.is_none() {
        tx.count_on_commit(Count::Payment {
            paid_in_full: paid == order.total,
        });
    }
    tx.outbox(DomainEvent::payment(events::PaymentMoved {
        order_id,
        payment_id: id,
        amount,
        reverses,
        device_id: device,
    }));
    Ok(Posted { row, paid, status })
}
