//! The `orders` table's writes after an order is recorded, each written once: locking an order
//! for a change, moving its paid amount, writing an edit, completing and deleting it. (Recording
//! orders is the batched statement of [`crate::orders::insert_orders`] and sync's new orders.)

use super::Tx;
use crate::error::{ApiError, ApiResult};
use chrono::{DateTime, Utc};
use pos_crypto::customer::{SealedCustomer, SearchKeys};
use pos_domain::{Currency, LineItem, Money, OrderStatus, ScheduleEntry, Totals};
use uuid::Uuid;

/// An order locked (`FOR UPDATE`) for a change: what every rule on a change reads. Changes of
/// one order are applied one at a time.
#[derive(Debug, Clone)]
pub struct Locked {
    pub channel: pos_domain::Channel,
    pub currency: Currency,
    pub status: OrderStatus,
    pub version: i32,
    pub total: Money,
    pub paid: Money,
    pub completed: bool,
    pub schedule: Vec<ScheduleEntry>,
}

impl Locked {
    pub fn is_deleted(&self) -> bool {
        self.status == OrderStatus::Deleted
    }
}

#[derive(sqlx::FromRow)]
struct LockedRow {
    channel: String,
    currency: String,
    status: String,
    version: i32,
    total_minor: i64,
    paid_minor: i64,
    completed: bool,
    schedule: sqlx::types::Json<Vec<ScheduleEntry>>,
}

/// Locks order `id` of `tenant`; `None` when there is no such order.
pub async fn lock(tx: &mut Tx, tenant: Uuid, id: Uuid) -> ApiResult<Option<Locked>> {
    let row: Option<LockedRow> = sqlx::query_as(
        "SELECT channel, currency, status, version, total_minor, paid_minor,
                completed_at IS NOT NULL AS completed, schedule
         FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    row.map(locked).transpose()
}

fn locked(r: LockedRow) -> ApiResult<Locked> {
    {
        let currency: Currency = r
            .currency
            .parse()
            .map_err(|_| ApiError::Internal("currency".into()))?;
        Ok(Locked {
            channel: r.channel.parse().map_err(ApiError::Internal)?,
            currency,
            status: r.status.parse().map_err(ApiError::Internal)?,
            version: r.version,
            total: currency.from_minor(r.total_minor),
            paid: currency.from_minor(r.paid_minor),
            completed: r.completed,
            schedule: r.schedule.0,
        })
    }
}

/// An order locked for an edit: where it stands, and its content opened.
pub struct Editable {
    pub order: Locked,
    pub content: pos_domain::edit::Content,
}

impl Editable {
    /// The order as the edit rule ([`pos_domain::edit::apply`]) reads it.
    pub fn current(&self) -> pos_domain::edit::Current<'_> {
        pos_domain::edit::Current {
            content: &self.content,
            channel: self.order.channel,
            currency: self.order.currency,
            paid: self.order.paid,
            completed: self.order.completed,
        }
    }
}

#[derive(sqlx::FromRow)]
struct EditableRow {
    #[sqlx(flatten)]
    order: LockedRow,
    customer_name: Vec<u8>,
    customer_phone: Option<Vec<u8>>,
    customer_email: Option<Vec<u8>>,
    customer_address: Option<Vec<u8>>,
    notes: Option<Vec<u8>>,
    items: sqlx::types::Json<Vec<LineItem>>,
    subtotal_minor: i64,
    discount_minor: i64,
}

/// Locks order `id` of `tenant` for an edit and opens its content with `cipher`.
pub async fn lock_for_edit(
    tx: &mut Tx,
    cipher: &pos_crypto::FieldCipher,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<Option<Editable>> {
    let row: Option<EditableRow> = sqlx::query_as(
        "SELECT channel, currency, status, version, total_minor, paid_minor,
                completed_at IS NOT NULL AS completed, customer_name, customer_phone,
                customer_email, customer_address, notes, items, schedule, subtotal_minor,
                discount_minor
         FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some(r) = row else {
        return Ok(None);
    };
    let order = locked(r.order)?;
    let sealed = SealedCustomer {
        name: r.customer_name,
        phone: r.customer_phone,
        email: r.customer_email,
        address: r.customer_address,
        notes: r.notes,
    };
    let (customer, notes) = pos_crypto::customer::open(cipher, &id.to_string(), &sealed)
        .ok_or_else(|| ApiError::Internal("decrypt".into()))?;
    let c = order.currency;
    Ok(Some(Editable {
        content: pos_domain::edit::Content {
            customer,
            notes,
            items: r.items.0,
            totals: Totals {
                subtotal: c.from_minor(r.subtotal_minor),
                discount: c.from_minor(r.discount_minor),
                total: order.total,
            },
            schedule: order.schedule.clone(),
        },
        order,
    }))
}

/// Sets what the locked `order` (`id`) has been paid and the status that follows, with the
/// earliest due date left unpaid; `by` (when known) becomes the order's last modifier.
#[allow(clippy::too_many_arguments)]
pub async fn set_paid(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    order: &Locked,
    paid: Money,
    status: OrderStatus,
    now: DateTime<Utc>,
    by: Option<Uuid>,
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE orders SET paid_minor = $3, status = $4, updated_at = $5,
                last_modified_by_user_id = COALESCE($6, last_modified_by_user_id),
                unpaid_due = COALESCE($7::date, 'infinity')
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(paid.to_minor(order.currency))
    .bind(status.as_str())
    .bind(now)
    .bind(by)
    .bind(pos_domain::figures::unpaid_due(&order.schedule, paid))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// An edit's new content as written: sealed customer and notes, their search keys, and the
/// priced items, totals and schedule.
pub struct Content<'a> {
    pub sealed: &'a SealedCustomer,
    pub keys: SearchKeys,
    pub items: &'a [LineItem],
    pub schedule: &'a [ScheduleEntry],
    pub totals: Totals,
    pub currency: Currency,
    pub version: i32,
    pub status: OrderStatus,
    /// What the order has been paid (the earliest due date it leaves unpaid is written too).
    pub paid: Money,
    pub by: Uuid,
    pub now: DateTime<Utc>,
}

/// Writes an edit of order `id`. The new total may not fall below what was paid (the table's
/// check): that is the items' `total_below_paid`.
pub async fn write_content(tx: &mut Tx, tenant: Uuid, id: Uuid, c: Content<'_>) -> ApiResult<()> {
    let json = |v: serde_json::Result<serde_json::Value>| {
        v.map_err(|e| ApiError::Internal(format!("content: {e}")))
    };
    sqlx::query(
        "UPDATE orders SET customer_name = $3, customer_phone = $4, customer_email = $5,
            customer_address = $6, notes = $7, phone_index = $8, email_index = $9, name_tokens = $10,
            items = $11, schedule = $12, subtotal_minor = $13, discount_minor = $14,
            total_minor = $15, status = $16, version = $17, updated_at = $18,
            last_modified_by_user_id = $19, unpaid_due = COALESCE($20::date, 'infinity')
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(&c.sealed.name)
    .bind(&c.sealed.phone)
    .bind(&c.sealed.email)
    .bind(&c.sealed.address)
    .bind(&c.sealed.notes)
    .bind(c.keys.phone_index)
    .bind(c.keys.email_index)
    .bind(c.keys.name_tokens)
    .bind(json(serde_json::to_value(c.items))?)
    .bind(json(serde_json::to_value(c.schedule))?)
    .bind(c.totals.subtotal.to_minor(c.currency))
    .bind(c.totals.discount.to_minor(c.currency))
    .bind(c.totals.total.to_minor(c.currency))
    .bind(c.status.as_str())
    .bind(c.version)
    .bind(c.now)
    .bind(c.by)
    .bind(pos_domain::figures::unpaid_due(c.schedule, c.paid))
    .execute(&mut **tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_check_violation() => pos_domain::ValidationError::new(
            "items",
            "total_below_paid",
            "The new total is less than what was already paid",
        )
        .into(),
        other => ApiError::from(other),
    })?;
    Ok(())
}

/// Marks order `id` as handed over at `at`.
pub async fn complete(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE orders SET status = $3, completed_at = $4, updated_at = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(OrderStatus::Completed.as_str())
    .bind(at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// A deletion as written: who deleted, who approved with which role and when, and the reason
/// sealed for the order's `delete_reason` field.
pub struct Deletion {
    pub at: DateTime<Utc>,
    pub by: Uuid,
    pub sealed_reason: Vec<u8>,
    pub approver: Uuid,
    pub approver_role: pos_domain::Role,
    pub approved_at: DateTime<Utc>,
}

/// Soft-deletes order `id` (it stays readable as deleted).
pub async fn delete(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
    d: Deletion,
    now: DateTime<Utc>,
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE orders SET status = $3, deleted_at = $4, deleted_by = $5, delete_reason = $6,
                approved_by = $7, approver_role = $8, approved_at = $9, updated_at = $10,
                last_modified_by_user_id = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(OrderStatus::Deleted.as_str())
    .bind(d.at)
    .bind(d.by)
    .bind(d.sealed_reason)
    .bind(d.approver)
    .bind(d.approver_role.as_str())
    .bind(d.approved_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Where an order came from, as the office shows it.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
pub struct Origin {
    /// The counter that recorded it (none: made at the office or through the API).
    pub device_id: Option<Uuid>,
    /// That counter's code, e.g. `K01`.
    pub device_code: Option<String>,
    /// When the service received it from the counter (by the service's clock).
    pub received_at: Option<DateTime<Utc>>,
    /// The name of the staff member who recorded it.
    pub recorded_by_name: Option<String>,
}

/// Where order `id` came from, if there is such an order.
pub async fn origin(tx: &mut Tx, tenant: Uuid, id: Uuid) -> ApiResult<Option<Origin>> {
    use sqlx::Row;
    let row = sqlx::query(
        "SELECT o.device_id, d.device_code, o.received_at, u.name AS recorded_by_name
           FROM orders o
           LEFT JOIN devices d ON d.tenant_id = o.tenant_id AND d.id = o.device_id
           LEFT JOIN users u ON u.tenant_id = o.tenant_id AND u.id = o.recorded_by_user_id
          WHERE o.tenant_id = $1 AND o.id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| Origin {
        device_id: r.get("device_id"),
        device_code: r.get("device_code"),
        received_at: r.get("received_at"),
        recorded_by_name: r.get("recorded_by_name"),
    }))
}
