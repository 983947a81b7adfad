//! Tenant-scoped transactions: every request's work runs in a transaction that first sets
//! `app.tenant_id`, which the row-level security policies compare with.

use crate::error::ApiResult;
use sqlx::{PgPool, Postgres, Transaction};
use uuid::Uuid;

pub type Tx = Transaction<'static, Postgres>;

pub async fn tenant_tx(pool: &PgPool, tenant: Uuid) -> ApiResult<Tx> {
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?;
    Ok(tx)
}

pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");
