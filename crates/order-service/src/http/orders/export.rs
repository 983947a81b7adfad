//! `POST /offline-orders/export`: the orders a filter matches, or their payments, as CSV for
//! the shop's accountant. No customer data unless the owner asks for it; every export is
//! audited (what, how many rows, whether with customer data).

use super::list::Matching;
use super::view::view_of;
use super::ListParams;
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pos_protocol::AuditAction;
use serde::Deserialize;
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// Which rows an export holds.
#[derive(Deserialize, utoipa::ToSchema, Debug, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum ExportKind {
    /// One row per order.
    Orders,
    /// One row per ledger entry (payments and reversals) of those orders.
    Payments,
}

/// An export: the list's filters, what to export, and whether with customer data.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct ExportRequest {
    #[serde(flatten)]
    pub filters: ListParams,
    pub kind: ExportKind,
    /// Adds the customer's name, phone, e-mail and address (orders) or the payment reference
    /// (payments). The owner only.
    #[serde(default)]
    pub include_customer_data: bool,
}

/// A cell of free text, kept from being read as a formula by a spreadsheet (OWASP's "CSV
/// injection": a leading `=`, `+`, `-`, `@`, tab or carriage return is quoted with `'`).
fn text(v: &str) -> String {
    if v.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{v}")
    } else {
        v.to_owned()
    }
}

#[utoipa::path(
    post,
    path = "/offline-orders/export",
    operation_id = "export_orders",
    tag = "orders",
    request_body = ExportRequest,
    responses((status = 200, description = "the rows as CSV (RFC 4180, UTF-8, a header row; amounts as decimal strings in the shop's currency)", content_type = "text/csv", body = String)),
    security(("bearer" = []))
)]
pub async fn export(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<ExportRequest>,
) -> ApiResult<Response> {
    auth.require_approver("export orders")?;
    if req.include_customer_data && !auth.role().can_manage_staff() {
        return Err(ApiError::Forbidden(
            "Only the owner exports customer data".into(),
        ));
    }
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let matching = Matching::of(&s, &mut tx, tenant, &req.filters).await?;
    let today = s.today_in(&mut tx, tenant).await?;
    let counters: HashMap<Uuid, String> =
        sqlx::query_as("SELECT id, device_code FROM devices WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let staff: HashMap<Uuid, String> =
        sqlx::query_as("SELECT id, name FROM users WHERE tenant_id = $1")
            .bind(tenant)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
    let name = |id: &Uuid| staff.get(id).map(|n| text(n)).unwrap_or_default();
    let counter = |id: Option<Uuid>| {
        id.and_then(|d| counters.get(&d).cloned())
            .unwrap_or_default()
    };
    let pii = req.include_customer_data;
    let mut out = csv::Writer::from_writer(Vec::new());
    let csv_err = |e: csv::Error| ApiError::Internal(format!("csv: {e}"));
    let mut rows = 0usize;
    let mut q = matching.query("*")?;
    q.push(" ORDER BY business_date, id");
    let orders = q.build().fetch_all(&mut *tx).await?;
    match req.kind {
        ExportKind::Orders => {
            let mut head = vec![
                "order_number",
                "business_date",
                "counter",
                "channel",
                "status",
                "currency",
                "subtotal",
                "discount",
                "total",
                "paid",
                "balance",
                "overdue",
                "created_at",
                "recorded_by",
            ];
            if pii {
                head.extend([
                    "customer_name",
                    "customer_phone",
                    "customer_email",
                    "customer_address",
                ]);
            }
            out.write_record(&head).map_err(csv_err)?;
            for r in orders.iter().filter(|r| matching.keeps(r)) {
                let v = view_of(&s.cipher, r, today, |_| Vec::new())?;
                let mut rec = vec![
                    text(&v.order_number),
                    v.business_date.to_string(),
                    counter(r.get("device_id")),
                    v.channel.clone(),
                    v.status.clone(),
                    v.currency.code().to_owned(),
                    v.subtotal.to_string(),
                    v.discount.to_string(),
                    v.total.to_string(),
                    v.paid.to_string(),
                    v.balance.to_string(),
                    v.overdue.to_string(),
                    v.created_at.to_rfc3339(),
                    name(&v.recorded_by),
                ];
                if pii {
                    let c = &v.customer;
                    rec.extend([
                        text(&c.name),
                        text(c.phone.as_deref().unwrap_or_default()),
                        text(c.email.as_deref().unwrap_or_default()),
                        text(c.address.as_deref().unwrap_or_default()),
                    ]);
                }
                out.write_record(&rec).map_err(csv_err)?;
                rows += 1;
            }
        }
        ExportKind::Payments => {
            let kept: Vec<_> = orders.iter().filter(|r| matching.keeps(r)).collect();
            let numbers: HashMap<Uuid, String> = kept
                .iter()
                .map(|r| (r.get("id"), r.get("order_number")))
                .collect();
            let ids: Vec<Uuid> = numbers.keys().copied().collect();
            let mut head = vec![
                "order_number",
                "payment_id",
                "paid_at",
                "counter",
                "recorded_by",
                "method",
                "currency",
                "amount",
                "reverses",
            ];
            if pii {
                head.push("reference");
            }
            out.write_record(&head).map_err(csv_err)?;
            let entries = sqlx::query(
                "SELECT * FROM payments WHERE tenant_id = $1 AND order_id = ANY($2)
                  ORDER BY paid_at, id",
            )
            .bind(tenant)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?;
            let currency = matching.currency;
            for p in &entries {
                let order: Uuid = p.get("order_id");
                let mut rec = vec![
                    text(numbers.get(&order).map(String::as_str).unwrap_or_default()),
                    p.get::<Uuid, _>("id").to_string(),
                    p.get::<chrono::DateTime<chrono::Utc>, _>("paid_at")
                        .to_rfc3339(),
                    counter(p.get("device_id")),
                    name(&p.get("recorded_by")),
                    p.get::<String, _>("method"),
                    currency.code().to_owned(),
                    currency.from_minor(p.get("amount_minor")).to_string(),
                    p.get::<Option<Uuid>, _>("reverses")
                        .map(|r| r.to_string())
                        .unwrap_or_default(),
                ];
                if pii {
                    rec.push(text(
                        p.get::<Option<String>, _>("reference")
                            .as_deref()
                            .unwrap_or_default(),
                    ));
                }
                out.write_record(&rec).map_err(csv_err)?;
                rows += 1;
            }
        }
    }
    let body = out
        .into_inner()
        .map_err(|e| ApiError::Internal(format!("csv: {e}")))?;
    let kind = match req.kind {
        ExportKind::Orders => "orders",
        ExportKind::Payments => "payments",
    };
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "order",
            None,
            "order.export",
        )
        .detail(format!("kind={kind} rows={rows} customer_data={pii}")),
    );
    tx.commit().await?;
    let file = format!("attachment; filename=\"{kind}-{today}.csv\"");
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8".to_owned()),
            (header::CONTENT_DISPOSITION, file),
            (header::CACHE_CONTROL, "no-store".to_owned()),
        ],
        body,
    )
        .into_response())
}
