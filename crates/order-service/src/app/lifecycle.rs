//! An order's content edited, its hand-over, and its deletion, each written with the domain
//! event it publishes (`pos_domain::edit` and `pos_domain::ledger::deletion` decide whether
//! they may be).

use crate::db::orders::{self, Content, Deletion};
use crate::db::Tx;
use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use pos_domain::Money;
use pos_protocol::{events, DomainEvent};
use uuid::Uuid;

/// Writes an edit of order `id` as `content` (its version and status included) and publishes
/// `order.updated` with the new total.
pub async fn edit(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    content: Content<'_>,
    total: Money,
    device: Option<Uuid>,
) -> ApiResult<()> {
    let version = u32::try_from(content.version).unwrap_or_default();
    orders::write_content(tx, tenant, id, content).await?;
    tx.outbox(DomainEvent::OrderUpdated(events::OrderUpdated {
        order_id: id,
        version,
        total,
        device_id: device,
    }));
    Ok(())
}

/// Marks order `id` handed over at `at` and publishes `order.completed`.
pub async fn complete(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
    device: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    orders::complete(tx, tenant, id, at, now).await?;
    tx.outbox(DomainEvent::OrderCompleted(events::OrderChanged {
        order_id: id,
        device_id: device,
    }));
    Ok(())
}

/// Soft-deletes order `id` and publishes `order.deleted`.
pub async fn delete(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    deletion: Deletion,
    device: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    orders::delete(tx, tenant, id, deletion, now).await?;
    tx.outbox(DomainEvent::OrderDeleted(events::OrderChanged {
        order_id: id,
        device_id: device,
    }));
    Ok(())
}
