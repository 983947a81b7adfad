//! `GET /sync/pull` and `POST /sync/orders`: central changes, the roster and whole orders
//! sent to a paired counter.

use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use pos_crypto::Aad;
use pos_domain::{Currency, OrderStatus, Role};
use pos_protocol::{Approval, PaymentRecord};
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullParams {
    #[serde(default)]
    pub cursor: i64,
    pub limit: Option<i64>,
}

/// `GET /sync/pull?cursor=`: what changed centrally since the cursor and did not come from this
/// device (payments, updates, completions, deletions, each with the order's current totals),
/// the staff roster with PIN verifiers, and the server time.
#[utoipa::path(
    get,
    path = "/sync/pull",
    tag = "sync",
    params(PullParams),
    responses((status = 200, description = "central changes since the cursor, the roster and the server time", body = Object)),
    security(("bearer" = []))
)]
pub async fn pull(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<PullParams>,
) -> ApiResult<Json<pos_protocol::PullResponse>> {
    if auth.0.kind != "device" {
        return Err(ApiError::Forbidden("Only a paired device pulls".into()));
    }
    let tenant = auth.tenant();
    let device = auth.user();
    let limit = p.limit.unwrap_or(500).clamp(1, 5000);
    let mut tx = s.tx(tenant).await?;
    let rows = sqlx::query(
        // one query: each change with its order's state, its ledger entry and its deletion
        "SELECT e.seq, e.event_type, e.aggregate_id, e.payload->>'device_id' AS from_device,
                o.status, o.total_minor, o.paid_minor, o.version, o.currency,
                o.deleted_by, o.deleted_at, o.delete_reason, o.approved_by, o.approver_role, o.approved_at,
                p.id AS payment_id, p.order_id AS payment_order, p.amount_minor, p.method, p.paid_at,
                p.recorded_by, p.reference, p.reverses, p.approved_by AS p_approved_by,
                p.approver_role AS p_approver_role, p.approval_reason AS p_approval_reason,
                p.approved_at AS p_approved_at
         FROM outbox_events e
         JOIN orders o ON o.tenant_id = e.tenant_id AND o.id = e.aggregate_id
         LEFT JOIN payments p ON p.tenant_id = e.tenant_id AND p.id = (e.payload->>'payment_id')::uuid
         WHERE e.tenant_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
    )
    .bind(tenant)
    .bind(p.cursor)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut next = p.cursor;
    let mut changes = Vec::new();
    for r in &rows {
        next = r.get::<i64, _>("seq");
        if r.get::<Option<String>, _>("from_device") == Some(device.to_string()) {
            continue;
        }
        let currency: Currency = r
            .get::<String, _>("currency")
            .parse()
            .map_err(|_| ApiError::Internal("currency".into()))?;
        let status: OrderStatus = r
            .get::<String, _>("status")
            .parse()
            .map_err(|_| ApiError::Internal("status".into()))?;
        let order_id: Uuid = r.get("aggregate_id");
        let payment = match r.get::<Option<Uuid>, _>("payment_id") {
            Some(pid) => Some(PaymentRecord {
                id: pos_domain::PaymentId(pid),
                order_id: pos_domain::OrderId(r.get("payment_order")),
                amount: currency.from_minor(r.get("amount_minor")),
                method: r
                    .get::<String, _>("method")
                    .parse()
                    .map_err(|_| ApiError::Internal("payment method".into()))?,
                paid_at: r.get("paid_at"),
                recorded_by: pos_domain::StaffId(r.get("recorded_by")),
                reference: r.get("reference"),
                reverses: r
                    .get::<Option<Uuid>, _>("reverses")
                    .map(pos_domain::PaymentId),
            }),
            None => None,
        };
        let change = pos_protocol::CentralChange {
            seq: next,
            kind: r.get("event_type"),
            order_id: pos_domain::OrderId(order_id),
            order: pos_protocol::CentralOrderState {
                status,
                total: currency.from_minor(r.get("total_minor")),
                paid: currency.from_minor(r.get("paid_minor")),
                version: r.get::<i32, _>("version") as u32,
            },
            reversal_approval: payment
                .as_ref()
                .and_then(|p| reversal_approval_of(&s, r, p.id.0)),
            payment,
            deletion: deletion_of(&s, r, order_id),
        };
        changes.push(change);
    }
    let roster: Vec<pos_protocol::StaffRecord> = sqlx::query("SELECT id, name, role, pin_hash, active FROM users WHERE tenant_id = $1 ORDER BY created_at")
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .filter_map(|u| {
            Some(pos_protocol::StaffRecord {
                id: pos_domain::StaffId(u.get("id")),
                name: u.get("name"),
                role: u.get::<String, _>("role").parse().ok()?,
                pin_verifier: u.get("pin_hash"),
                active: u.get("active"),
            })
        })
        .collect();
    let zone = s.settings(&mut tx, tenant).await?.zone;
    let mut ids: Vec<Uuid> = changes.iter().map(|c| c.order_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut orders = central_orders(&s, &mut tx, tenant, device, &ids).await?;
    // A page carries at most PULL_ORDERS_BYTES of whole orders (at least one change): a page
    // of large orders ends early, the rest comes with the next.
    let sizes: HashMap<Uuid, usize> = orders
        .iter()
        .map(|o| (o.id.0, serde_json::to_vec(o).map(|b| b.len()).unwrap_or(0)))
        .collect();
    let mut used = 0usize;
    let mut counted = std::collections::HashSet::new();
    let mut keep = changes.len();
    for (i, c) in changes.iter().enumerate() {
        if counted.insert(c.order_id.0) {
            used += sizes.get(&c.order_id.0).copied().unwrap_or(0);
        }
        if used > PULL_ORDERS_BYTES && i > 0 {
            keep = i;
            break;
        }
    }
    if keep < changes.len() {
        changes.truncate(keep);
        next = changes.last().map_or(next, |c| c.seq);
        let kept: std::collections::HashSet<Uuid> = changes.iter().map(|c| c.order_id.0).collect();
        orders.retain(|o| kept.contains(&o.id.0));
    }
    audit_orders_sent(&mut tx, device, orders.len());
    crate::db::devices::record_pull(&mut tx, tenant, device, s.now()).await?;
    tx.commit().await?;
    Ok(Json(pos_protocol::PullResponse {
        changes,
        next_cursor: next,
        roster,
        server_time: s.now(),
        time_zone: Some(zone.name().into()),
        orders,
    }))
}

/// `POST /sync/orders`: the service's state of the orders a paired counter names (at most
/// [`pos_protocol::MAX_ORDERS_PER_REQUEST`]), so it converges to them.
#[utoipa::path(
    post,
    path = "/sync/orders",
    tag = "sync",
    request_body = Object,
    responses((status = 200, description = "{orders}: the named orders as the service holds them", body = Object)),
    security(("bearer" = []))
)]
pub async fn orders(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiJson(req): crate::extract::ApiJson<pos_protocol::OrdersRequest>,
) -> ApiResult<Json<pos_protocol::OrdersResponse>> {
    if auth.0.kind != "device" {
        return Err(ApiError::Forbidden(
            "Only a paired device asks for its orders".into(),
        ));
    }
    if req.ids.len() > pos_protocol::MAX_ORDERS_PER_REQUEST {
        return Err(pos_domain::ValidationError::new(
            "ids",
            "too_many",
            format!(
                "At most {} orders per request",
                pos_protocol::MAX_ORDERS_PER_REQUEST
            ),
        )
        .into());
    }
    let tenant = auth.tenant();
    let ids: Vec<Uuid> = req.ids.iter().map(|i| i.0).collect();
    let device = auth.user();
    let mut tx = s.tx(tenant).await?;
    let orders = central_orders(&s, &mut tx, tenant, device, &ids).await?;
    audit_orders_sent(&mut tx, device, orders.len());
    tx.commit().await?;
    Ok(Json(pos_protocol::OrdersResponse { orders }))
}

/// Audits whole orders sent to a counter (they carry its customers' details).
fn audit_orders_sent(tx: &mut Tx, device: Uuid, n: usize) {
    if n > 0 {
        audit::record(
            tx,
            NewEvent::by(
                (device, Role::Cashier),
                pos_protocol::AuditAction::Access,
                "order",
                None,
                "sync.orders_sent",
            )
            .detail(format!("device={device} orders={n}")),
        );
    }
}

/// Most bytes of whole orders one pull page carries.
const PULL_ORDERS_BYTES: usize = 4 * 1024 * 1024;

/// Orders `ids` of `tenant` that `device` recorded, as the service holds them now, whole
/// (customer decrypted for that counter, which holds the order already; the ledger with the
/// approvals of reversals; the deletion). Other orders are never sent to a counter.
async fn central_orders(
    s: &AppState,
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    ids: &[Uuid],
) -> ApiResult<Vec<pos_protocol::CentralOrder>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT * FROM orders WHERE tenant_id = $1 AND id = ANY($2) AND device_id = $3 ORDER BY id",
    )
    .bind(tenant)
    .bind(ids)
    .bind(device)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get("id")).collect();
    let ids = ids.as_slice();
    let pays = sqlx::query(
        "SELECT p.id AS payment_id, p.order_id AS payment_order, p.amount_minor, p.method, p.paid_at,
                p.recorded_by, p.reference, p.reverses, p.approved_by AS p_approved_by,
                p.approver_role AS p_approver_role, p.approval_reason AS p_approval_reason,
                p.approved_at AS p_approved_at
         FROM payments p WHERE tenant_id = $1 AND order_id = ANY($2) ORDER BY created_at, id",
    )
    .bind(tenant)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_order: HashMap<Uuid, Vec<&sqlx::postgres::PgRow>> = HashMap::new();
    for p in &pays {
        by_order.entry(p.get("payment_order")).or_default().push(p);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: Uuid = r.get("id");
        let ids = id.to_string();
        let open = |col: &str| -> ApiResult<Option<String>> {
            r.get::<Option<Vec<u8>>, _>(col)
                .map(|b| {
                    s.cipher
                        .decrypt_string(&b, crate::orders::aad(&ids, col))
                        .ok_or_else(|| ApiError::Internal("decrypt".into()))
                })
                .transpose()
        };
        let currency: Currency = r
            .get::<String, _>("currency")
            .parse()
            .map_err(|_| ApiError::Internal("currency".into()))?;
        let m = |col: &str| currency.from_minor(r.get::<i64, _>(col));
        let mut payments = Vec::new();
        for p in by_order.get(&id).map(Vec::as_slice).unwrap_or_default() {
            let pid: Uuid = p.get("payment_id");
            payments.push(pos_protocol::CentralPayment {
                payment: PaymentRecord {
                    id: pos_domain::PaymentId(pid),
                    order_id: pos_domain::OrderId(id),
                    amount: currency.from_minor(p.get("amount_minor")),
                    method: p
                        .get::<String, _>("method")
                        .parse()
                        .map_err(|_| ApiError::Internal("payment method".into()))?,
                    paid_at: p.get("paid_at"),
                    recorded_by: pos_domain::StaffId(p.get("recorded_by")),
                    reference: p.get("reference"),
                    reverses: p
                        .get::<Option<Uuid>, _>("reverses")
                        .map(pos_domain::PaymentId),
                },
                approval: reversal_approval_of(s, p, pid),
            });
        }
        out.push(pos_protocol::CentralOrder {
            id: pos_domain::OrderId(id),
            order_number: r.get("order_number"),
            status: r
                .get::<String, _>("status")
                .parse()
                .map_err(|_| ApiError::Internal("status".into()))?,
            version: r.get::<i32, _>("version") as u32,
            customer: pos_domain::Customer {
                name: open("customer_name")?.unwrap_or_default(),
                phone: open("customer_phone")?,
                email: open("customer_email")?,
                address: open("customer_address")?,
            },
            items: crate::orders::json_column(r, "items")?,
            totals: pos_domain::Totals {
                subtotal: m("subtotal_minor"),
                discount: m("discount_minor"),
                total: m("total_minor"),
            },
            notes: open("notes")?,
            schedule: crate::orders::json_column(r, "schedule")?,
            paid: m("paid_minor"),
            completed_at: r.get("completed_at"),
            deletion: deletion_of(s, r, id),
            payments,
        });
    }
    Ok(out)
}

/// Who approved a pulled reversing entry, and why (the reason decrypted for the paired
/// counter, which stores it encrypted under its own key).
fn reversal_approval_of(
    s: &AppState,
    r: &sqlx::postgres::PgRow,
    payment: Uuid,
) -> Option<pos_protocol::Approval> {
    let (Some(approver), Some(role)) = (
        r.get::<Option<Uuid>, _>("p_approved_by"),
        r.get::<Option<String>, _>("p_approver_role")
            .and_then(|v| v.parse::<Role>().ok()),
    ) else {
        return None;
    };
    let ids = payment.to_string();
    let reason = r
        .get::<Option<Vec<u8>>, _>("p_approval_reason")
        .and_then(|b| {
            s.cipher.decrypt_string(
                &b,
                Aad {
                    table: "payments",
                    record_id: &ids,
                    field: "approval_reason",
                },
            )
        })
        .unwrap_or_default();
    Some(pos_protocol::Approval {
        approver_id: pos_domain::StaffId(approver),
        approver_role: role,
        reason,
        approved_at: r
            .get::<Option<chrono::DateTime<Utc>>, _>("p_approved_at")
            .unwrap_or_else(|| r.get("paid_at")),
    })
}

/// Who deleted an order and who approved it, from a pull row (the reason decrypted for the
/// paired counter, which stores it encrypted under its own key).
fn deletion_of(
    s: &AppState,
    r: &sqlx::postgres::PgRow,
    order: Uuid,
) -> Option<pos_protocol::CentralDeletion> {
    let (Some(by), Some(approver), Some(role), Some(at), Some(approved_at)) = (
        r.get::<Option<Uuid>, _>("deleted_by"),
        r.get::<Option<Uuid>, _>("approved_by"),
        r.get::<Option<String>, _>("approver_role")
            .and_then(|v| v.parse::<Role>().ok()),
        r.get::<Option<chrono::DateTime<Utc>>, _>("deleted_at"),
        r.get::<Option<chrono::DateTime<Utc>>, _>("approved_at"),
    ) else {
        return None;
    };
    let ids = order.to_string();
    let reason = r
        .get::<Option<Vec<u8>>, _>("delete_reason")
        .and_then(|b| {
            s.cipher.decrypt_string(
                &b,
                Aad {
                    table: "orders",
                    record_id: &ids,
                    field: "delete_reason",
                },
            )
        })
        .unwrap_or_default();
    Some(pos_protocol::CentralDeletion {
        deleted_by: pos_domain::StaffId(by),
        deleted_at: at,
        approval: Approval {
            approver_id: pos_domain::StaffId(approver),
            approver_role: role,
            reason,
            approved_at,
        },
    })
}

/// `POST /sync/recover`: for a counter restored from a backup, what it recorded after the
/// backup and synced: its own audit events after `audit_after`, and the whole orders its own
/// changes after `changes_after` concern, with what it recorded when it made them. Paged (see
/// [`pos_protocol::RecoverRequest`]).
#[utoipa::path(
    post,
    path = "/sync/recover",
    tag = "sync",
    request_body = Object,
    responses((status = 200, description = "{audit, orders, next_changes_after, done}: the device's own audit events and orders since its backup", body = Object)),
    security(("bearer" = []))
)]
pub async fn recover(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiJson(req): crate::extract::ApiJson<pos_protocol::RecoverRequest>,
) -> ApiResult<Json<pos_protocol::RecoverResponse>> {
    if auth.0.kind != "device" {
        return Err(ApiError::Forbidden(
            "Only a paired device recovers its own records".into(),
        ));
    }
    if req.changes_after < 0 || req.audit_after > i64::MAX as u64 {
        return Err(pos_domain::ValidationError::new(
            "changes_after",
            "out_of_range",
            "Positions start at 0",
        )
        .with("min", 0)
        .into());
    }
    let tenant = auth.tenant();
    let device = auth.user();
    let mut tx = s.tx(tenant).await?;
    let audit: Vec<pos_protocol::AuditEvent> = sqlx::query(
        "SELECT * FROM audit_events WHERE tenant_id = $1 AND device_id = $2 AND seq > $3 ORDER BY seq LIMIT $4",
    )
    .bind(tenant)
    .bind(device)
    .bind(req.audit_after as i64)
    .bind(pos_protocol::RECOVER_AUDIT_PAGE as i64)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|r| crate::db::chain::row_to_event(r).ok_or_else(|| ApiError::Internal("audit row".into())))
    .collect::<ApiResult<_>>()?;
    let changes: Vec<(i64, Uuid)> = sqlx::query_as(
        "SELECT seq, aggregate_id FROM outbox_events
         WHERE tenant_id = $1 AND seq > $2 AND payload->>'device_id' = $3 ORDER BY seq LIMIT $4",
    )
    .bind(tenant)
    .bind(req.changes_after)
    .bind(device.to_string())
    .bind(pos_protocol::RECOVER_CHANGES_PAGE as i64)
    .fetch_all(&mut *tx)
    .await?;
    let next = changes.last().map_or(req.changes_after, |c| c.0);
    let mut ids: Vec<Uuid> = changes.iter().map(|c| c.1).collect();
    ids.sort_unstable();
    ids.dedup();
    let central = central_orders(&s, &mut tx, tenant, device, &ids).await?;
    let made: HashMap<Uuid, sqlx::postgres::PgRow> = sqlx::query(
        "SELECT id, channel, terms, business_date, COALESCE(claimed_created_at, created_at) AS made_at,
                recorded_by_user_id, last_modified_by_user_id, counter_number
         FROM orders WHERE tenant_id = $1 AND id = ANY($2)",
    )
    .bind(tenant)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .map(|r| (r.get("id"), r))
    .collect();
    let mut orders = Vec::with_capacity(central.len());
    for o in central {
        let r = made
            .get(&o.id.0)
            .ok_or_else(|| ApiError::Internal("recovered order".into()))?;
        orders.push(pos_protocol::RecoveredOrder {
            channel: r
                .get::<String, _>("channel")
                .parse()
                .map_err(|_| ApiError::Internal("channel".into()))?,
            payment_terms: crate::orders::json_column(r, "terms")?,
            business_date: r.get("business_date"),
            created_at: r.get("made_at"),
            recorded_by: pos_domain::StaffId(r.get("recorded_by_user_id")),
            last_modified_by: pos_domain::StaffId(r.get("last_modified_by_user_id")),
            counter_number: r.get("counter_number"),
            order: o,
        });
    }
    audit_orders_sent(&mut tx, device, orders.len());
    tx.commit().await?;
    let done = audit.len() < pos_protocol::RECOVER_AUDIT_PAGE
        && changes.len() < pos_protocol::RECOVER_CHANGES_PAGE;
    Ok(Json(pos_protocol::RecoverResponse {
        audit,
        orders,
        next_changes_after: next,
        done,
    }))
}
