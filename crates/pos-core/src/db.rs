//! Opening the SQLite file: WAL, foreign keys, `synchronous=FULL` (a counter loses power; an
//! acknowledged order must survive it), migrations run on open.

use crate::error::Result;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous};
use sqlx::SqlitePool;
use std::path::Path;
use std::time::Duration;

pub(crate) static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations");

pub(crate) fn connect_options(path: &Path) -> SqliteConnectOptions {
    SqliteConnectOptions::new()
        .filename(path)
        .create_if_missing(true)
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(SqliteSynchronous::Full)
        .foreign_keys(true)
        .busy_timeout(Duration::from_secs(10))
        .pragma("temp_store", "memory")
}

/// One connection: every operation writes (at least its audit event), and SQLite has one
/// writer at a time anyway, so writes queue here instead of failing with `SQLITE_BUSY`.
pub(crate) async fn open_pool(path: &Path) -> Result<SqlitePool> {
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        // The one connection is a file handle that never goes stale; pinging it before every
        // use cost a round trip to SQLite's worker thread per transaction.
        .test_before_acquire(false)
        .connect_with(connect_options(path))
        .await?;
    MIGRATOR.run(&pool).await?;
    Ok(pool)
}

pub(crate) fn ts(t: &chrono::DateTime<chrono::Utc>) -> String {
    pos_protocol::time::format(t)
}

pub(crate) fn parse_ts(s: &str) -> Result<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&chrono::Utc))
        .map_err(|_| crate::StoreError::corrupt(format!("bad timestamp {s:?}")))
}
