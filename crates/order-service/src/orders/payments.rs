//! Money on an order: `POST /offline-orders/{id}/payments` and the reversal of a payment, and
//! the payment rows, audit events and outbox events they (and a create's first payment) write.

use super::idempotency::Idempotency;
use super::view::{payment_json, view_now};
use super::{PaymentRequest, ReversalRequest};
use crate::audit::{self, Event};
use crate::auth::Auth;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use pos_crypto::Aad;
use pos_domain::{Currency, Money, OrderStatus, PaymentMethod};
use pos_protocol::{events, DomainEvent};
use pos_protocol::{AuditAction, FieldChange};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

#[utoipa::path(
    post,
    path = "/offline-orders/{id}/payments",
    tag = "orders",
    request_body = PaymentRequest,
    params(("id" = uuid::Uuid, Path, description = "the id"), ("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same key")),
    responses((status = 201, description = "{payment, order}", body = Object)),
    security(("bearer" = []))
)]
pub async fn pay(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
    crate::extract::HashedJson { body: req, sha256 }: crate::extract::HashedJson<PaymentRequest>,
) -> ApiResult<Response> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let key = Idempotency::of(
        &headers,
        format!("POST /offline-orders/{id}/payments"),
        sha256,
    )?;
    let mut tx = s.tx(tenant).await?;
    if let Some(k) = &key {
        if let Some(r) = k.claim(&s, &mut tx, tenant).await? {
            tx.commit().await?;
            return Ok(r);
        }
    }
    let (row, currency) = lock_for_payment(&mut tx, tenant, id).await?;
    let pid = req.id.unwrap_or_else(|| s.new_uuid());
    let existing = sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(pid)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(p) = existing {
        if p.get::<Uuid, _>("order_id") != id {
            return Err(ApiError::Conflict {
                code: "payment_id_in_use",
                message: "This payment id belongs to another order".into(),
            });
        }
        let view = view_now(&s, &mut tx, tenant, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let body = json!({"payment": payment_json(currency)(&p), "order": view});
        if let Some(k) = &key {
            k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &body)
                .await?;
        }
        tx.commit().await?;
        return Ok((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    if row.get::<String, _>("status") == "deleted" {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted and cannot take payments".into(),
        });
    }
    let total = currency.from_minor(row.get("total_minor"));
    let paid = currency.from_minor(row.get("paid_minor"));
    let amount = pos_domain::ledger::payment(currency, "amount", req.amount.0, paid, total)?;
    let reference = pos_domain::text::reference(req.reference, "reference")?;
    let now = s.now();
    let new_paid = paid + amount;
    let status = OrderStatus::derive(false, row.get::<bool, _>("completed"), new_paid == total);
    sqlx::query("UPDATE orders SET paid_minor = $3, status = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant).bind(id).bind(new_paid.to_minor(currency)).bind(status.as_str()).bind(now)
        .execute(&mut *tx).await?;
    let payment = NewPayment {
        id: pid,
        order_id: id,
        amount,
        method: req.method,
        reference,
        at: now,
    };
    insert_payment(
        &mut tx,
        tenant,
        (auth.user(), auth.role()),
        &payment,
        currency,
    )
    .await?;
    let p = sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(pid)
        .fetch_one(&mut *tx)
        .await?;
    let view = view_now(&s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = json!({"payment": payment_json(currency)(&p), "order": view});
    if let Some(k) = &key {
        k.remember(&s, &mut tx, tenant, StatusCode::CREATED, &body)
            .await?;
    }
    tx.commit().await?;
    s.metrics.count_payment(status == OrderStatus::Paid);
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[utoipa::path(
    post,
    path = "/offline-orders/{id}/payments/{payment_id}/reversal",
    tag = "orders",
    request_body = ReversalRequest,
    params(("id" = uuid::Uuid, Path, description = "the order"), ("payment_id" = uuid::Uuid, Path, description = "the payment to reverse")),
    responses((status = 201, description = "{payment, order}: the reversing entry (negative amount) and the order", body = Object)),
    security(("bearer" = []))
)]
/// Reverses (refunds) one payment in full with a reversing entry, once; the caller (an owner
/// or manager) is the approver. The rules are `pos_domain::ledger::reversal`'s.
pub async fn reverse(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiPath((id, payment_id)): crate::extract::ApiPath<(Uuid, Uuid)>,
    ApiJson(req): ApiJson<ReversalRequest>,
) -> ApiResult<Response> {
    auth.require_approver("reverse payments")?;
    let tenant = auth.tenant();
    let reason = pos_domain::ledger::reason(&req.reason)?;
    let reason = reason.as_str();
    let mut tx = s.tx(tenant).await?;
    let (row, currency) = lock_for_payment(&mut tx, tenant, id).await?;
    let rid = req.id.unwrap_or_else(|| s.new_uuid());
    let existing = sqlx::query("SELECT * FROM payments WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(rid)
        .fetch_optional(&mut *tx)
        .await?;
    if let Some(p) = existing {
        // A retry of this very reversal answers as the first time; any other use of the id is refused.
        if p.get::<Uuid, _>("order_id") != id
            || p.get::<Option<Uuid>, _>("reverses") != Some(payment_id)
        {
            return Err(ApiError::Conflict {
                code: "payment_id_in_use",
                message: "This payment id is already used".into(),
            });
        }
        let view = view_now(&s, &mut tx, tenant, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        let body = json!({"payment": payment_json(currency)(&p), "order": view});
        tx.commit().await?;
        return Ok((StatusCode::CREATED, axum::Json(body)).into_response());
    }
    if row.get::<String, _>("status") == "deleted" {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted".into(),
        });
    }
    let original = sqlx::query(
        "SELECT order_id, amount_minor, method, reverses,
                EXISTS (SELECT 1 FROM payments r WHERE r.tenant_id = p.tenant_id AND r.reverses = p.id) AS reversed
         FROM payments p WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(payment_id)
    .fetch_optional(&mut *tx)
    .await?;
    let entry = original.as_ref().map(|r| pos_domain::ledger::Entry {
        id: payment_id.into(),
        order_id: r.get::<Uuid, _>("order_id").into(),
        amount: currency.from_minor(r.get("amount_minor")),
        reverses: r.get::<Option<Uuid>, _>("reverses").map(Into::into),
    });
    let amount = pos_domain::ledger::reversal(
        currency,
        id.into(),
        entry.as_ref(),
        original
            .as_ref()
            .is_some_and(|r| r.get::<bool, _>("reversed")),
        Some(auth.role()),
        None,
    )?;
    let method: String = original
        .as_ref()
        .map(|r| r.get("method"))
        .unwrap_or_default();
    let now = s.now();
    let total = currency.from_minor(row.get("total_minor"));
    let new_paid = currency.from_minor(row.get("paid_minor")) + amount;
    let status = OrderStatus::derive(false, row.get::<bool, _>("completed"), new_paid == total);
    let rids = rid.to_string();
    let sealed_reason = s.cipher.encrypt_str(
        reason,
        Aad {
            table: "payments",
            record_id: &rids,
            field: "approval_reason",
        },
    );
    let p = sqlx::query("INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reference, reverses, approved_by, approver_role, approval_reason, approved_at, created_at)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, $8, $7, $9, $10, $6, $6) RETURNING *")
        .bind(tenant).bind(rid).bind(id).bind(amount.to_minor(currency)).bind(&method).bind(now)
        .bind(auth.user()).bind(payment_id).bind(auth.role().as_str()).bind(sealed_reason)
        .fetch_one(&mut *tx).await?;
    sqlx::query("UPDATE orders SET paid_minor = $3, status = $4, updated_at = $5, last_modified_by_user_id = $6 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant).bind(id).bind(new_paid.to_minor(currency)).bind(status.as_str()).bind(now).bind(auth.user())
        .execute(&mut *tx).await?;
    audit::record(
        &mut tx,
        Event::new(
            (auth.user(), auth.role()),
            AuditAction::Payment,
            "payment",
            Some(rids.clone()),
            "payment.reverse",
        )
        .detail(format!("order={id} amount={amount} reverses={payment_id}"))
        .fields(vec![
            FieldChange::new(&rids, "amount", None, Some(&amount.to_string())),
            FieldChange::new(&rids, "reason", None, Some(reason)),
        ]),
    );
    tx.outbox(DomainEvent::PaymentReversed(events::PaymentMoved {
        order_id: id,
        payment_id: rid,
        amount,
        reverses: Some(payment_id),
        device_id: None,
    }));
    let view = view_now(&s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = json!({"payment": payment_json(currency)(&p), "order": view});
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Locks order `id` for a movement of money (concurrent payments and reversals of one order
/// are applied one at a time): (currency, total_minor, paid_minor, status, completed) and its
/// currency.
async fn lock_for_payment(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<(sqlx::postgres::PgRow, Currency)> {
    let row = sqlx::query("SELECT currency, total_minor, paid_minor, status, completed_at IS NOT NULL AS completed FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tenant)
        .bind(id)
        .fetch_optional(&mut **tx)
        .await?
        .ok_or(ApiError::NotFound)?;
    let currency: Currency = row
        .get::<String, _>("currency")
        .parse()
        .map_err(|_| ApiError::Internal("currency".into()))?;
    Ok((row, currency))
}

/// A payment taken through the API.
pub(crate) struct NewPayment {
    pub(super) id: Uuid,
    pub(super) order_id: Uuid,
    pub(super) amount: Money,
    pub(super) method: PaymentMethod,
    pub(super) reference: Option<String>,
    pub(super) at: DateTime<Utc>,
}

/// Payment rows by column, inserted by one `unnest` statement (the same text for any number).
#[derive(Default)]
pub(super) struct PaymentColumns {
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
    pub(super) fn push(
        &mut self,
        tenant: Uuid,
        recorded_by: Uuid,
        p: &NewPayment,
        currency: Currency,
    ) {
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
    pub(super) fn push_insert(self, qb: &mut sqlx::QueryBuilder<'_, sqlx::Postgres>, tail: &str) {
        qb.push(
            "INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at,
                recorded_by, reference) SELECT u.* FROM unnest(",
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

/// Writes a payment's ledger row, its PAYMENT audit event and its outbox event; returns the row.
async fn insert_payment(
    tx: &mut Tx,
    tenant: Uuid,
    actor: (Uuid, pos_domain::Role),
    p: &NewPayment,
    currency: Currency,
) -> ApiResult<sqlx::postgres::PgRow> {
    let mut columns = PaymentColumns::default();
    columns.push(tenant, actor.0, p, currency);
    let mut qb = sqlx::QueryBuilder::new("");
    columns.push_insert(&mut qb, " RETURNING *");
    let row = qb.build().fetch_one(&mut **tx).await?;
    record_payment_events(tx, actor, p);
    Ok(row)
}

/// Records a payment's PAYMENT audit event and its outbox event in `tx`.
fn record_payment_events(tx: &mut Tx, actor: (Uuid, pos_domain::Role), p: &NewPayment) {
    let (event, domain) = payment_events(actor, p);
    audit::record(tx, event);
    tx.outbox(domain);
}

/// A payment's PAYMENT audit event and its domain event.
pub(super) fn payment_events(
    actor: (Uuid, pos_domain::Role),
    p: &NewPayment,
) -> (Event<'static>, DomainEvent) {
    (
        Event::new(
            actor,
            AuditAction::Payment,
            "payment",
            Some(p.id.to_string()),
            "payment.record",
        )
        .detail(format!("order={} amount={}", p.order_id, p.amount)),
        DomainEvent::PaymentReceived(events::PaymentMoved {
            order_id: p.order_id,
            payment_id: p.id,
            amount: p.amount,
            reverses: None,
            device_id: None,
        }),
    )
}
