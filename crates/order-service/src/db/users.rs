//! The `users` table's reads that rules depend on.

use super::Tx;
use crate::error::ApiResult;
use pos_domain::Role;
use uuid::Uuid;

/// The role of staff member `id` of `tenant` while active; `None` for an unknown or
/// deactivated one (who may neither act nor approve).
pub async fn active_role(
    tx: &mut Tx,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<Option<(Role, Option<chrono::DateTime<chrono::Utc>>)>> {
    // '-infinity' (never cut off) reads as none
    let r: Option<(String, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
        "SELECT role, CASE WHEN isfinite(tokens_valid_from) THEN tokens_valid_from END
           FROM users WHERE tenant_id = $1 AND id = $2 AND active",
    )
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(r.and_then(|(role, from)| role.parse().ok().map(|role| (role, from))))
}
