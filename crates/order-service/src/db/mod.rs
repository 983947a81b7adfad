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
