//! The outbox as a feed for downstream consumers, and the analytics summary.

use crate::audit::{self, Event};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
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
        Event::new(
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
        if status != "deleted" {
            orders += n;
            outstanding += total - paid;
            if status == "paid" || status == "completed" {
                paid_orders += n;
            }
        }
    }
    let overdue: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM (
            SELECT (e->>'due_date')::date AS due, o.paid_minor,
                   sum(((e->>'amount')::numeric * power(10, $3::int))::bigint) OVER (PARTITION BY o.id ORDER BY (e->>'seq')::int) AS cum
            FROM orders o, jsonb_array_elements(o.schedule) e
            WHERE o.tenant_id = $1 AND o.status = 'pending'
              -- a plain yyyy-mm-dd only: a date written before the business range was enforced
              -- (year 10000 is written +10000-…) must not make the figures fail for everyone
              AND e->>'due_date' ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}$') x
         WHERE due < $2 AND cum > paid_minor",
    )
    .bind(tenant)
    .bind(today)
    .bind(currency.minor_units() as i32)
    .fetch_one(&mut *tx)
    .await?;
    let rate = (orders > 0).then(|| {
        let mut r = (rust_decimal::Decimal::from(paid_orders) * rust_decimal::Decimal::from(100)
            / rust_decimal::Decimal::from(orders))
        .round_dp(1);
        r.rescale(1);
        r.to_string()
    });
    audit::record(
        &mut tx,
        Event::new(
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
        "overdue_installments": overdue, "payment_completion_rate": rate,
    })))
}
