//! The database layer: tenant-scoped transactions ([`Tx`], with the audit chain and outbox
//! rows they buffer) and one repository per table family, where each statement on orders and
//! payments is written once for every path that needs it (the HTTP handlers and sync apply).

pub mod chain;
pub mod devices;
pub mod orders;
mod outbox;
pub mod payments;
pub mod tenants;
mod tx;
pub mod users;

pub use tx::{tenant_tx, Tx};

/// The service's PostgreSQL migrations (`crates/order-service/migrations`).
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// Applies the migrations ([`MIGRATOR`]), then fills what a migration leaves to a domain rule:
/// each order's `unpaid_due` ([`pos_domain::figures::unpaid_due`]) where it was never
/// written, a thousand orders per transaction. Run with the owning role (`order-service
/// migrate`); running it again finds nothing left to do.
pub async fn migrate(pool: &sqlx::PgPool) -> Result<(), sqlx::Error> {
    MIGRATOR.run(pool).await?;
    let tenants: Vec<uuid::Uuid> = sqlx::query_scalar("SELECT id FROM tenants")
        .fetch_all(pool)
        .await?;
    for tenant in tenants {
        while fill_unpaid_due(pool, tenant).await? > 0 {}
    }
    Ok(())
}

/// Writes `unpaid_due` for up to a thousand orders of `tenant` that have none; how many.
async fn fill_unpaid_due(pool: &sqlx::PgPool, tenant: uuid::Uuid) -> Result<usize, sqlx::Error> {
    use sqlx::Row;
    let mut tx = pool.begin().await?;
    sqlx::query("SELECT set_config('app.tenant_id', $1, true)")
        .bind(tenant.to_string())
        .execute(&mut *tx)
        .await?;
    let rows = sqlx::query(
        "SELECT id, currency, schedule, paid_minor FROM orders
         WHERE tenant_id = $1 AND unpaid_due IS NULL LIMIT 1000 FOR UPDATE",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?;
    let (mut ids, mut dates) = (
        Vec::with_capacity(rows.len()),
        Vec::with_capacity(rows.len()),
    );
    for r in &rows {
        let currency: pos_domain::Currency = r
            .get::<String, _>("currency")
            .parse()
            .map_err(|_| sqlx::Error::Decode("orders.currency".into()))?;
        let schedule: sqlx::types::Json<Vec<pos_domain::ScheduleEntry>> = r.try_get("schedule")?;
        let paid = currency.from_minor(r.get("paid_minor"));
        ids.push(r.get::<uuid::Uuid, _>("id"));
        dates.push(pos_domain::figures::unpaid_due(&schedule.0, paid));
    }
    sqlx::query(
        "UPDATE orders o SET unpaid_due = COALESCE(u.d, 'infinity')
         FROM unnest($2::uuid[], $3::date[]) AS u (id, d)
         WHERE o.tenant_id = $1 AND o.id = u.id",
    )
    .bind(tenant)
    .bind(&ids)
    .bind(&dates)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(rows.len())
}
