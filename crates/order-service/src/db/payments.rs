//! The `payments` ledger's statements, each written once: reading an entry (with whether it
//! was reversed) and writing one. Entries are never updated or deleted (SPEC §4.4: a refund
//! is a reversing entry). A create's first payments are written by the batched statement of
//! [`crate::orders::insert_orders`].

use super::Tx;
use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use pos_domain::ledger::Entry;
use pos_domain::{Currency, Money, PaymentMethod, Role};
use sqlx::postgres::PgRow;
use sqlx::Row;
use uuid::Uuid;

/// Payment `id` of `tenant` as its whole row (`SELECT *`), if there is one.
pub async fn find(tx: &mut Tx, tenant: Uuid, id: Uuid) -> ApiResult<Option<PgRow>> {
    Ok(
        sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?,
    )
}

/// The ledger entries of `orders` (one query for a page), by order, oldest first.
pub async fn of_orders(
    tx: &mut Tx,
    tenant: Uuid,
    orders: &[Uuid],
) -> ApiResult<std::collections::HashMap<Uuid, Vec<PgRow>>> {
    let mut by_order: std::collections::HashMap<Uuid, Vec<PgRow>> = Default::default();
    for p in sqlx::query(
        "SELECT * FROM payments WHERE tenant_id = $1 AND order_id = ANY($2) ORDER BY created_at, id",
    )
    .bind(tenant)
    .bind(orders)
    .fetch_all(&mut **tx)
    .await?
    {
        by_order.entry(p.get("order_id")).or_default().push(p);
    }
    Ok(by_order)
}

/// A ledger entry as the ledger rule reads it (`pos_domain::ledger`), whether a reversal of
/// it is recorded, and its method (a reversal repeats it).
pub struct Recorded {
    pub entry: Entry,
    pub reversed: bool,
    pub method: String,
}

/// The ledger entry `id` names, if any.
pub async fn entry(
    tx: &mut Tx,
    tenant: Uuid,
    currency: Currency,
    id: Uuid,
) -> ApiResult<Option<Recorded>> {
    let row = sqlx::query(
        "SELECT order_id, amount_minor, method, reverses,
                EXISTS (SELECT 1 FROM payments r
                        WHERE r.tenant_id = p.tenant_id AND r.reverses = p.id) AS reversed
         FROM payments p WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map(|r| Recorded {
        entry: Entry {
            id: id.into(),
            order_id: r.get::<Uuid, _>("order_id").into(),
            amount: currency.from_minor(r.get("amount_minor")),
            reverses: r.get::<Option<Uuid>, _>("reverses").map(Into::into),
        },
        reversed: r.get("reversed"),
        method: r.get("method"),
    }))
}

/// The approval a reversal carries, its reason sealed for the row's `approval_reason`.
pub struct Approval {
    pub by: Uuid,
    pub role: Role,
    pub sealed_reason: Vec<u8>,
    pub at: DateTime<Utc>,
}

/// One ledger entry to write: a payment (positive) or a reversal (negative, naming the entry
/// it reverses and its approval).
pub struct NewEntry<'a> {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount: Money,
    pub method: &'a str,
    pub paid_at: DateTime<Utc>,
    pub recorded_by: Uuid,
    pub reference: Option<&'a str>,
    pub reverses: Option<Uuid>,
    pub approval: Option<Approval>,
}

/// Writes `e`, taken on counter `device` (none: at the office or through the API), and
/// returns its row.
pub async fn insert(
    tx: &mut Tx,
    tenant: Uuid,
    currency: Currency,
    e: NewEntry<'_>,
    device: Option<Uuid>,
    now: DateTime<Utc>,
) -> ApiResult<PgRow> {
    let approval = e.approval.as_ref();
    Ok(sqlx::query(
        "INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at,
            recorded_by, reference, reverses, approved_by, approver_role, approval_reason,
            approved_at, created_at, device_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *",
    )
    .bind(tenant)
    .bind(e.id)
    .bind(e.order_id)
    .bind(e.amount.to_minor(currency))
    .bind(e.method)
    .bind(e.paid_at)
    .bind(e.recorded_by)
    .bind(e.reference)
    .bind(e.reverses)
    .bind(approval.map(|a| a.by))
    .bind(approval.map(|a| a.role.as_str()))
    .bind(approval.map(|a| a.sealed_reason.as_slice()))
    .bind(approval.map(|a| a.at))
    .bind(now)
    .bind(device)
    .fetch_one(&mut **tx)
    .await?)
}

/// Who took each of an order's payments (the staff member's name) and where (the counter's
/// code; none at the office or through the API), by payment id.
pub async fn origins(
    tx: &mut Tx,
    tenant: Uuid,
    order: Uuid,
) -> ApiResult<std::collections::HashMap<Uuid, (Option<String>, Option<String>)>> {
    let rows = sqlx::query(
        "SELECT p.id, u.name AS recorded_by_name, d.device_code
           FROM payments p
           LEFT JOIN users u ON u.tenant_id = p.tenant_id AND u.id = p.recorded_by
           LEFT JOIN devices d ON d.tenant_id = p.tenant_id AND d.id = p.device_id
          WHERE p.tenant_id = $1 AND p.order_id = $2",
    )
    .bind(tenant)
    .bind(order)
    .fetch_all(&mut **tx)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                r.get("id"),
                (r.get("recorded_by_name"), r.get("device_code")),
            )
        })
        .collect())
}

/// A payment taken through the API.
pub struct NewPayment {
    pub id: Uuid,
    pub order_id: Uuid,
    pub amount: Money,
    pub method: PaymentMethod,
    pub reference: Option<String>,
    pub at: DateTime<Utc>,
}

/// Payment rows by column, inserted by one `unnest` statement (the same text for any number).
#[derive(Default)]
pub struct PaymentColumns {
    tenant: Vec<Uuid>,
    id: Vec<Uuid>,
    order_id: Vec<Uuid>,
    amount: Vec<i64>,
    method: Vec<&'static str>,
    at: Vec<DateTime<Utc>>,
    recorded_by: Vec<Uuid>,
    reference: Vec<Option<String>>,
}

impl PaymentColumns {
    pub fn push(&mut self, tenant: Uuid, recorded_by: Uuid, p: &NewPayment, currency: Currency) {
        self.tenant.push(tenant);
        self.id.push(p.id);
        self.order_id.push(p.order_id);
        self.amount.push(p.amount.to_minor(currency));
        self.method.push(p.method.as_str());
        self.at.push(p.at);
        self.recorded_by.push(recorded_by);
        self.reference.push(p.reference.clone());
    }

    /// Appends `INSERT INTO payments ... SELECT ... FROM unnest(...) AS u` and then `tail`.
    pub fn push_insert(self, qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, tail: &str) {
        qb.push(
            "INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at,
                recorded_by, reference, created_at) SELECT u.*, u.paid_at FROM unnest(",
        );
        qb.separated(", ")
            .push_bind(self.tenant)
            .push_bind(self.id)
            .push_bind(self.order_id)
            .push_bind(self.amount)
            .push_bind(self.method)
            .push_bind(self.at)
            .push_bind(self.recorded_by)
            .push_bind(self.reference);
        qb.push(
            ") AS u (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reference)",
        )
        .push(tail);
    }
}
