//! An order's content edited, its hand-over, and its deletion, each written with the domain
//! event it publishes (`pos_domain::edit` and `pos_domain::ledger::deletion` decide whether
//! they may be).

use crate::db::orders::{self, Content, Deletion};
use crate::db::Tx;
use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use pos_crypto::customer;
use pos_crypto::FieldCipher;
use pos_domain::{CountryCode, Currency, Money, OrderStatus};
use pos_protocol::{events, DomainEvent};
use uuid::Uuid;

/// An edit to write: the order's new content (accepted by `pos_domain::edit`), the status
/// and version it takes, who made it and, for a counter's edit, on which device.
pub struct Edit<'a> {
    pub content: &'a pos_domain::edit::Content,
    pub currency: Currency,
    pub status: OrderStatus,
    /// What the order has been paid (unchanged by an edit).
    pub paid: Money,
    pub version: i32,
    pub by: Uuid,
    pub device: Option<Uuid>,
    /// The shop's country (its customers' phone search keys use it).
    pub country: CountryCode,
    pub now: DateTime<Utc>,
}

/// Writes an edit of order `id`: the customer and notes sealed and indexed in the shop's
/// country, the content, and `order.updated` with the new version and total.
pub async fn edit(
    cipher: &FieldCipher,
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    e: Edit<'_>,
) -> ApiResult<()> {
    let ids = id.to_string();
    let c = e.content;
    let sealed = customer::seal(cipher, &ids, &c.customer, c.notes.as_deref());
    let keys = customer::search_keys(cipher, &c.customer, &e.country.digits())?;
    let written = Content {
        sealed: &sealed,
        keys,
        items: &c.items,
        schedule: &c.schedule,
        totals: c.totals,
        currency: e.currency,
        version: e.version,
        status: e.status,
        paid: e.paid,
        by: e.by,
        now: e.now,
    };
    orders::write_content(tx, tenant, id, written).await?;
    tx.outbox(DomainEvent::OrderUpdated(events::OrderUpdated {
        order_id: id,
        version: u32::try_from(e.version).unwrap_or_default(),
        total: c.totals.total,
        device_id: e.device,
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
