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

use pos_protocol::{AuditAction, FieldChange};
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
    operation_id = "patch_order",
    tag = "orders",
    request_body = PatchOrder,
    params(("id" = uuid::Uuid, Path, description = "the id"), ("If-Match" = String, Header, description = "the order's ETag, e.g. \"3\"")),
    responses((status = 200, description = "the order", body = super::OrderView)),
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
    let order = orders::lock_for_edit(&mut tx, &s.cipher, tenant, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    if order.order.is_deleted() {
        return Err(ApiError::Conflict {
            code: "order_deleted",
            message: "The order is deleted and cannot be edited".into(),
        });
    }
    let version = order.order.version;
    if version != expected {
        return Err(ApiError::PreconditionFailed { current: version });
    }
    let edited = pos_domain::edit::apply(order.current(), req.merged_with(&order.content)?)?;
    if !edited.changes.is_empty() {
        let e = lifecycle::Edit {
            content: &edited.content,
            currency: order.order.currency,
            status: edited.status,
            paid: order.order.paid,
            version: version + 1,
            by: auth.user(),
            device: None,
            country: s.settings(&mut tx, tenant).await?.phone_country_code,
            now: s.now(),
        };
        lifecycle::edit(&s.cipher, &mut tx, tenant, id, e).await?;
        let ids = id.to_string();
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
            .fields(FieldChange::of_edit(&ids, &edited.changes)),
        );
    }
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
