//! The `devices` table: paired counters, and what the office shows of each.

use super::Tx;
use crate::error::ApiResult;
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Records a counter's push: when, how many mutations it carried, how many were refused.
pub async fn record_push(
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    at: DateTime<Utc>,
    (mutations, refused): (usize, usize),
) -> ApiResult<()> {
    sqlx::query(
        "UPDATE devices SET last_push_at = $3, last_push_mutations = $4, last_push_refused = $5
         WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(device)
    .bind(at)
    .bind(i32::try_from(mutations).unwrap_or(i32::MAX))
    .bind(i32::try_from(refused).unwrap_or(i32::MAX))
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Records a counter's pull.
pub async fn record_pull(
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    at: DateTime<Utc>,
) -> ApiResult<()> {
    sqlx::query("UPDATE devices SET last_pull_at = $3 WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(device)
        .bind(at)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// A paired (or unpaired) counter as the office lists it.
#[derive(Debug, Clone, serde::Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Counter {
    pub id: Uuid,
    pub name: String,
    /// The counter's code (its order numbers start with it).
    pub device_code: String,
    pub paired_at: DateTime<Utc>,
    /// Set once unpaired: its secret no longer works.
    pub revoked_at: Option<DateTime<Utc>>,
    pub last_push_at: Option<DateTime<Utc>>,
    /// How many changes its last push carried.
    pub last_push_mutations: i32,
    /// How many of them the service refused (the counter shows them as needing attention).
    pub last_push_refused: i32,
    pub last_pull_at: Option<DateTime<Utc>>,
}

/// The tenant's counters, paired ones first, then by code.
pub async fn list(tx: &mut Tx, tenant: Uuid) -> ApiResult<Vec<Counter>> {
    Ok(sqlx::query_as(
        "SELECT id, name, device_code, paired_at, revoked_at, last_push_at, last_push_mutations,
                last_push_refused, last_pull_at
         FROM devices WHERE tenant_id = $1 ORDER BY revoked_at IS NOT NULL, device_code",
    )
    .bind(tenant)
    .fetch_all(&mut **tx)
    .await?)
}
