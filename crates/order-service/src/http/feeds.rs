//! The outbox as a feed for downstream consumers, and the analytics summary.

use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use pos_domain::figures::{self, Overdue};
use pos_domain::OrderStatus;
use pos_protocol::AuditAction;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FeedParams {
    #[serde(default)]
    pub after: i64,
    pub limit: Option<i64>,
}

/// `GET /events?after=`: domain events in commit order, owner only.
#[utoipa::path(
    get,
    path = "/events",
    tag = "feeds",
    params(FeedParams),
    responses((status = 200, description = "domain events after the cursor", body = Object)),
    security(("bearer" = []))
)]
pub async fn events(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<FeedParams>,
) -> ApiResult<Json<Value>> {
    auth.require_staff()?;
    if !auth.role().can_manage_staff() {
        return Err(ApiError::Forbidden(
            "Only the owner reads the event feed".into(),
        ));
    }
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let rows = sqlx::query("SELECT seq, id, event_type, aggregate_id, payload, created_at FROM outbox_events WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3")
        .bind(tenant)
        .bind(p.after)
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
    let items: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "seq": r.get::<i64, _>("seq"),
                "id": r.get::<uuid::Uuid, _>("id"),
                "type": r.get::<String, _>("event_type"),
                "aggregate_id": r.get::<uuid::Uuid, _>("aggregate_id"),
                "payload": r.get::<Value, _>("payload"),
                "created_at": r.get::<chrono::DateTime<chrono::Utc>, _>("created_at"),
            })
        })
        .collect();
    let next = items
        .last()
        .and_then(|e| e["seq"].as_i64())
        .unwrap_or(p.after);
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "events",
            None,
            "events.read",
        )
        .detail(format!("after={} results={}", p.after, items.len())),
    );
    tx.commit().await?;
    Ok(Json(json!({"items": items, "next_after": next})))
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SummaryParams {
    pub from: NaiveDate,
    pub to: NaiveDate,
}

/// `GET /analytics/offline-orders/summary?from&to`: orders and money by status and channel,
/// collected vs outstanding, overdue installments and the payment completion rate.
#[utoipa::path(
    get,
    path = "/analytics/offline-orders/summary",
    tag = "feeds",
    params(SummaryParams),
    responses((status = 200, description = "figures for the range", body = Object)),
    security(("bearer" = []))
)]
pub async fn summary(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<SummaryParams>,
) -> ApiResult<Json<Value>> {
    auth.require_approver("read analytics")?;
    pos_domain::dates::check_range(Some(p.from), Some(p.to))?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let settings = s.settings(&mut tx, tenant).await?;
    let currency = settings.currency;
    let today = settings.zone.business_date(s.now());
    let money = |minor: i64| currency.from_minor(minor);
    let groups = sqlx::query(
        "SELECT status, channel, count(*) AS n, COALESCE(sum(total_minor), 0)::bigint AS total, COALESCE(sum(paid_minor), 0)::bigint AS paid
         FROM orders WHERE tenant_id = $1 AND business_date BETWEEN $2 AND $3 GROUP BY status, channel ORDER BY status, channel",
    )
    .bind(tenant)
    .bind(p.from)
    .bind(p.to)
    .fetch_all(&mut *tx)
    .await?;
    let mut by = Vec::new();
    let (mut orders, mut paid_orders, mut collected, mut outstanding) = (0i64, 0i64, 0i64, 0i64);
    for g in &groups {
        let status: String = g.get("status");
        let n: i64 = g.get("n");
        let total: i64 = g.get("total");
        let paid: i64 = g.get("paid");
        by.push(json!({"status": status, "channel": g.get::<String, _>("channel"), "orders": n, "total": money(total), "paid": money(paid)}));
        // Money stays visible whatever became of its order (a deleted order holds none under
        // the refund-before-delete rule; one deleted before that rule still shows here).
        collected += paid;
        let status: OrderStatus = status.parse().map_err(ApiError::Internal)?;
        if status != OrderStatus::Deleted {
            orders += n;
            outstanding += total - paid;
            if figures::counts_as_paid(status) {
                paid_orders += n;
            }
        }
    }
    let mut overdue = Overdue::default();
    let mut pending =
        sqlx::query("SELECT schedule, paid_minor FROM orders WHERE tenant_id = $1 AND status = $2")
            .bind(tenant)
            .bind(OrderStatus::Pending.as_str())
            .fetch(&mut *tx);
    while let Some(o) = futures_util::TryStreamExt::try_next(&mut pending).await? {
        // A schedule that does not read (none is written so) counts as not overdue rather
        // than failing everyone's figures.
        if let Ok(schedule) =
            serde_json::from_value::<Vec<pos_domain::ScheduleEntry>>(o.get("schedule"))
        {
            let paid = currency.from_minor(o.get("paid_minor"));
            overdue = overdue + Overdue::of(OrderStatus::Pending, &schedule, paid, today);
        }
    }
    drop(pending);
    let rate = figures::completion_rate(paid_orders, orders).map(|r| r.to_string());
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "analytics",
            None,
            "analytics.summary",
        )
        .detail(format!("{}..{}", p.from, p.to)),
    );
    tx.commit().await?;
    Ok(Json(json!({
        "from": p.from, "to": p.to, "currency": currency,
        "orders": orders, "by_status_channel": by,
        "collected": money(collected), "outstanding": money(outstanding),
        "overdue_installments": overdue.installments, "overdue_amount": overdue.amount,
        "payment_completion_rate": rate,
    })))
}
