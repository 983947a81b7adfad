//! The outbox as a feed for downstream consumers, and the analytics summary.

use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::NaiveDate;
use pos_domain::figures::{self, Overdue};
use pos_domain::{Money, OrderStatus};
use pos_protocol::AuditAction;
use serde::{Deserialize, Serialize};
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

/// Orders and money of one group (a status and channel, a business day, a counter).
#[derive(Serialize, utoipa::ToSchema)]
pub struct Group {
    /// The status (by status and channel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The channel (by status and channel).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    /// The business day (by day).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<NaiveDate>,
    /// The counter's id and code (by counter; none for orders made at the office or
    /// through the API).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_id: Option<uuid::Uuid>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub device_code: Option<String>,
    pub orders: i64,
    pub total: Money,
    pub paid: Money,
}

/// One row of a grouped query: its key columns (whichever of `status`, `channel`,
/// `business_date`, `device_id` and `device_code` it selected) and its `n`, `total` and `paid`
/// (minor units of `currency`).
fn group(g: &sqlx::postgres::PgRow, currency: pos_domain::Currency) -> Group {
    let text = |col: &str| g.try_get::<Option<String>, _>(col).ok().flatten();
    Group {
        status: text("status"),
        channel: text("channel"),
        date: g.try_get("business_date").ok(),
        device_id: g
            .try_get::<Option<uuid::Uuid>, _>("device_id")
            .ok()
            .flatten(),
        device_code: text("device_code"),
        orders: g.get("n"),
        total: currency.from_minor(g.get("total")),
        paid: currency.from_minor(g.get("paid")),
    }
}

/// The figures of a range of business days.
#[derive(Serialize, utoipa::ToSchema)]
pub struct Summary {
    pub from: NaiveDate,
    pub to: NaiveDate,
    pub currency: pos_domain::Currency,
    /// Orders recorded in the range, deleted ones left out.
    pub orders: i64,
    pub by_status_channel: Vec<Group>,
    /// Per business day and per counter, deleted orders left out.
    pub by_day: Vec<Group>,
    pub by_counter: Vec<Group>,
    /// What the range's orders were paid, and what is still owed on them.
    pub collected: Money,
    pub outstanding: Money,
    /// Overdue installments today, of every open order (not only the range's).
    pub overdue_installments: i64,
    pub overdue_amount: Money,
    /// Percent of the range's orders paid in full, one decimal; none without orders.
    pub payment_completion_rate: Option<String>,
}

/// `GET /analytics/offline-orders/summary?from&to`: orders and money by status and channel,
/// per day and per counter, collected vs outstanding, overdue installments and the payment
/// completion rate.
#[utoipa::path(
    get,
    path = "/analytics/offline-orders/summary",
    tag = "feeds",
    params(SummaryParams),
    responses((status = 200, description = "figures for the range", body = Summary)),
    security(("bearer" = []))
)]
pub async fn summary(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<SummaryParams>,
) -> ApiResult<Json<Summary>> {
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
        by.push(group(g, currency));
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
    let by_day = sqlx::query(
        "SELECT business_date, count(*) AS n, COALESCE(sum(total_minor), 0)::bigint AS total, COALESCE(sum(paid_minor), 0)::bigint AS paid
         FROM orders WHERE tenant_id = $1 AND business_date BETWEEN $2 AND $3 AND status <> 'deleted'
         GROUP BY business_date ORDER BY business_date",
    )
    .bind(tenant)
    .bind(p.from)
    .bind(p.to)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|g| group(g, currency))
    .collect();
    let by_counter = sqlx::query(
        "SELECT o.device_id, d.device_code, count(*) AS n, COALESCE(sum(o.total_minor), 0)::bigint AS total, COALESCE(sum(o.paid_minor), 0)::bigint AS paid
         FROM orders o LEFT JOIN devices d ON d.tenant_id = o.tenant_id AND d.id = o.device_id
         WHERE o.tenant_id = $1 AND o.business_date BETWEEN $2 AND $3 AND o.status <> 'deleted'
         GROUP BY o.device_id, d.device_code ORDER BY d.device_code NULLS LAST",
    )
    .bind(tenant)
    .bind(p.from)
    .bind(p.to)
    .fetch_all(&mut *tx)
    .await?
    .iter()
    .map(|g| group(g, currency))
    .collect();
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
    Ok(Json(Summary {
        from: p.from,
        to: p.to,
        currency,
        orders,
        by_status_channel: by,
        by_day,
        by_counter,
        collected: money(collected),
        outstanding: money(outstanding),
        overdue_installments: overdue.installments,
        overdue_amount: overdue.amount,
        payment_completion_rate: rate,
    }))
}
