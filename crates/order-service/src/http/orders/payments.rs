//! Money on an order: `POST /offline-orders/{id}/payments` and the reversal of a payment, and
//! the payment rows, audit events and outbox events they (and a create's first payment) write.

use super::idempotency::Idempotency;
use super::view::{payment_json, view_now};
use super::{PaymentRequest, ReversalRequest};
use crate::app::ledger;
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::db::payments::{self, NewEntry, NewPayment};
use crate::db::{orders, Tx};
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use pos_crypto::Aad;
use pos_domain::Currency;
use pos_protocol::{events, DomainEvent};
use pos_protocol::{AuditAction, FieldChange};
use sqlx::Row;
use uuid::Uuid;

#[utoipa::path(
    post,
    path = "/offline-orders/{id}/payments",
    tag = "orders",
    request_body = PaymentRequest,
    params(("id" = uuid::Uuid, Path, description = "the id"), ("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same key")),
    responses((status = 201, description = "the payment and the order after it", body = PaymentAnswer)),
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
    let order = orders::lock(&mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let currency = order.currency;
    let pid = req.id.unwrap_or_else(|| s.new_uuid());
    if let Some(p) = payments::find(&mut tx, tenant, pid).await? {
        if p.get::<Uuid, _>("order_id") != id {
            return Err(ApiError::Conflict {
                code: "payment_id_in_use",
                message: "This payment id belongs to another order".into(),
            });
        }
        return answer(&s, tx, tenant, id, &p, currency, key.as_ref()).await;
    }
    if order.is_deleted() {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted and cannot take payments".into(),
        });
    }
    let amount = pos_domain::ledger::payment(
        currency,
        "amount",
        req.amount.amount(),
        order.paid,
        order.total,
    )?;
    let reference = pos_domain::text::reference(req.reference, "reference")?;
    let now = s.now();
    let entry = NewEntry {
        id: pid,
        order_id: id,
        amount,
        method: req.method.as_str(),
        paid_at: now,
        recorded_by: auth.user(),
        reference: reference.as_deref(),
        reverses: None,
        approval: None,
    };
    let posted = ledger::post(&mut tx, tenant, &order, entry, None, None, now).await?;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Payment,
            "payment",
            Some(pid.to_string()),
            "payment.record",
        )
        .detail(format!("order={id} amount={amount}")),
    );
    answer(&s, tx, tenant, id, &posted.row, currency, key.as_ref()).await
}

/// `201 {payment, order}` for a payment's row, remembered under the request's idempotency key.
async fn answer(
    s: &AppState,
    mut tx: Tx,
    tenant: Uuid,
    id: Uuid,
    payment: &sqlx::postgres::PgRow,
    currency: Currency,
    key: Option<&Idempotency>,
) -> ApiResult<Response> {
    let view = view_now(s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let body = serde_json::to_value(PaymentAnswer {
        payment: payment_json(currency)(payment),
        order: view,
    })
    .map_err(|e| ApiError::Internal(format!("answer: {e}")))?;
    if let Some(k) = key {
        k.remember(s, &mut tx, tenant, StatusCode::CREATED, &body)
            .await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

#[utoipa::path(
    post,
    path = "/offline-orders/{id}/payments/{payment_id}/reversal",
    tag = "orders",
    request_body = ReversalRequest,
    params(("id" = uuid::Uuid, Path, description = "the order"), ("payment_id" = uuid::Uuid, Path, description = "the payment to reverse")),
    responses((status = 201, description = "the reversing entry (negative amount) and the order after it", body = PaymentAnswer)),
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
    let order = orders::lock(&mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let currency = order.currency;
    let rid = req.id.unwrap_or_else(|| s.new_uuid());
    if let Some(p) = payments::find(&mut tx, tenant, rid).await? {
        // A retry of this very reversal answers as the first time; any other use of the id is refused.
        if p.get::<Uuid, _>("order_id") != id
            || p.get::<Option<Uuid>, _>("reverses") != Some(payment_id)
        {
            return Err(ApiError::Conflict {
                code: "payment_id_in_use",
                message: "This payment id is already used".into(),
            });
        }
        return answer(&s, tx, tenant, id, &p, currency, None).await;
    }
    if order.is_deleted() {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted".into(),
        });
    }
    let original = payments::entry(&mut tx, tenant, currency, payment_id).await?;
    let amount = pos_domain::ledger::reversal(
        currency,
        id.into(),
        original.as_ref().map(|r| &r.entry),
        original.as_ref().is_some_and(|r| r.reversed),
        Some(auth.role()),
        None,
    )?;
    let method = original.map(|r| r.method).unwrap_or_default();
    let now = s.now();
    let rids = rid.to_string();
    let entry = NewEntry {
        id: rid,
        order_id: id,
        amount,
        method: &method,
        paid_at: now,
        recorded_by: auth.user(),
        reference: None,
        reverses: Some(payment_id),
        approval: Some(payments::Approval {
            by: auth.user(),
            role: auth.role(),
            sealed_reason: s.cipher.encrypt_str(
                reason,
                Aad {
                    table: "payments",
                    record_id: &rids,
                    field: "approval_reason",
                },
            ),
            at: now,
        }),
    };
    let posted = ledger::post(&mut tx, tenant, &order, entry, Some(auth.user()), None, now).await?;
    audit::record(
        &mut tx,
        NewEvent::by(
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
    answer(&s, tx, tenant, id, &posted.row, currency, None).await
}
/// A payment (or reversal) recorded, and the order after it.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct PaymentAnswer {
    pub payment: super::PaymentView,
    pub order: super::OrderView,
}

/// A payment's PAYMENT audit event and its domain event.
pub(super) fn payment_events(
    actor: (Uuid, pos_domain::Role),
    p: &NewPayment,
) -> (NewEvent, DomainEvent) {
    (
        NewEvent::by(
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
