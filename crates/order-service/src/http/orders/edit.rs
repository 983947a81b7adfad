//! Changes to an order: `PATCH /offline-orders/{id}` (at the version named by `If-Match`) and
//! `DELETE /offline-orders/{id}`.

use super::view::{view_now, with_etag};
use super::{aad, DeleteRequest, PatchOrder};
use crate::app::lifecycle;
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::db::orders;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use pos_domain::{Channel, Currency, Customer, LineItem};

use pos_protocol::{AuditAction, FieldChange};
use sqlx::Row;
use uuid::Uuid;

fn if_match(headers: &HeaderMap) -> ApiResult<i32> {
    let v = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?;
    v.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| ApiError::BadRequest("If-Match must be the order's ETag, e.g. \"3\"".into()))
}

/// `PATCH /offline-orders/{id}`: customer details, items, discount or notes, at the version
/// named by `If-Match` (428 without it, 412 when stale). The total never falls below what was
/// paid; the unpaid part of the schedule is regenerated.
#[utoipa::path(
    patch,
    path = "/offline-orders/{id}",
    tag = "orders",
    request_body = PatchOrder,
    params(("id" = uuid::Uuid, Path, description = "the id"), ("If-Match" = String, Header, description = "the order's ETag, e.g. \"3\"")),
    responses((status = 200, description = "the order", body = Object)),
    security(("bearer" = []))
)]
pub async fn patch(
    State(s): State<AppState>,
    auth: Auth,
    headers: HeaderMap,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
    ApiJson(req): ApiJson<PatchOrder>,
) -> ApiResult<Response> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let expected = if_match(&headers)?;
    let mut tx = s.tx(tenant).await?;
    let r = orders::lock_whole(&mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if r.get::<String, _>("status") == "deleted" {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted and cannot be edited".into(),
        });
    }
    let version: i32 = r.get("version");
    if version != expected {
        return Err(ApiError::PreconditionFailed { current: version });
    }
    let ids = id.to_string();
    let dec = |col: &str, field: &str| -> ApiResult<Option<String>> {
        r.get::<Option<Vec<u8>>, _>(col)
            .map(|b| {
                s.cipher
                    .decrypt_string(&b, aad(&ids, field))
                    .ok_or_else(|| ApiError::Internal("decrypt".into()))
            })
            .transpose()
    };
    let currency: Currency = r
        .get::<String, _>("currency")
        .parse()
        .map_err(|_| ApiError::Internal("currency".into()))?;
    let channel: Channel = r
        .get::<String, _>("channel")
        .parse()
        .map_err(ApiError::Internal)?;
    let old_customer = Customer {
        name: dec("customer_name", "customer_name")?.unwrap_or_default(),
        phone: dec("customer_phone", "customer_phone")?,
        email: dec("customer_email", "customer_email")?,
        address: dec("customer_address", "customer_address")?,
    };
    let old_notes = dec("notes", "notes")?;
    let items: Vec<LineItem> =
        serde_json::from_value(r.get("items")).map_err(|e| ApiError::Internal(e.to_string()))?;
    let before = pos_domain::edit::Content {
        customer: old_customer,
        notes: old_notes,
        totals: pos_domain::Totals {
            subtotal: currency.from_minor(r.get("subtotal_minor")),
            discount: currency.from_minor(r.get("discount_minor")),
            total: currency.from_minor(r.get("total_minor")),
        },
        schedule: serde_json::from_value(r.get("schedule"))
            .map_err(|e| ApiError::Internal(e.to_string()))?,
        items,
    };
    let edit = pos_domain::edit::OrderEdit {
        customer: match req.customer {
            Some(patch) => patch.apply(before.customer.clone()),
            None => before.customer.clone(),
        },
        notes: req.notes.apply(before.notes.clone()),
        items: req
            .items
            .unwrap_or_else(|| before.items.iter().map(LineItem::to_input).collect()),
        discount: req.discount.apply(Some(before.totals.discount)),
    };
    let edited = pos_domain::edit::apply(
        pos_domain::edit::Current {
            content: &before,
            channel,
            currency,
            paid: currency.from_minor(r.get("paid_minor")),
            completed: r.get::<Option<DateTime<Utc>>, _>("completed_at").is_some(),
        },
        edit,
    )?;
    if edited.changes.is_empty() {
        let view = view_now(&s, &mut tx, tenant, id)
            .await?
            .ok_or(ApiError::NotFound)?;
        tx.commit().await?;
        return Ok(with_etag(StatusCode::OK, view));
    }
    let fields = FieldChange::of_edit(&ids, &edited.changes);
    let status = edited.status;
    let pos_domain::edit::Content {
        customer,
        notes,
        items,
        totals,
        schedule,
    } = edited.content;
    let sealed = pos_crypto::customer::seal(&s.cipher, &ids, &customer, notes.as_deref());
    let country = s.settings(&mut tx, tenant).await?.phone_country_code;
    let content = orders::Content {
        sealed: &sealed,
        keys: pos_crypto::customer::search_keys(&s.cipher, &customer, &country.digits())?,
        items: &items,
        schedule: &schedule,
        totals,
        currency,
        version: version + 1,
        status,
        by: auth.user(),
        now: s.now(),
    };
    lifecycle::edit(&mut tx, tenant, id, content, totals.total, None).await?;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Update,
            "order",
            Some(ids.clone()),
            "order.update",
        )
        .detail(format!("version {version} -> {}", version + 1))
        .fields(fields),
    );

    let view = view_now(&s, &mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    tx.commit().await?;
    Ok(with_etag(StatusCode::OK, view))
}

#[utoipa::path(
    delete,
    path = "/offline-orders/{id}",
    tag = "orders",
    request_body = DeleteRequest,
    params(("id" = uuid::Uuid, Path, description = "the id")),
    responses((status = 204, description = "deleted (the order stays readable as deleted)")),
    security(("bearer" = []))
)]
pub async fn delete(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
    ApiJson(req): ApiJson<DeleteRequest>,
) -> ApiResult<StatusCode> {
    auth.require_approver("delete orders")?;
    let tenant = auth.tenant();
    let reason = pos_domain::ledger::reason(&req.reason)?;
    let reason = reason.as_str();
    let mut tx = s.tx(tenant).await?;
    let order = orders::lock(&mut tx, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if order.is_deleted() {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is already deleted".into(),
        });
    }
    pos_domain::ledger::deletion(order.paid)?;
    let ids = id.to_string();
    let now = s.now();
    let deletion = orders::Deletion {
        at: now,
        by: auth.user(),
        sealed_reason: s.cipher.encrypt_str(reason, aad(&ids, "delete_reason")),
        approver: auth.user(),
        approver_role: auth.role(),
        approved_at: now,
    };
    lifecycle::delete(&mut tx, tenant, id, deletion, None, now).await?;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Delete,
            "order",
            Some(ids.clone()),
            "order.delete",
        )
        .fields(vec![
            FieldChange::new(&ids, "status", Some(order.status.as_str()), Some("deleted")),
            FieldChange::new(&ids, "reason", None, Some(reason)),
        ]),
    );

    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
