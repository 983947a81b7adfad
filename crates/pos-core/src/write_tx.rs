//! Write transactions. Writers take one lock for the whole transaction (SQLite has one writer
//! anyway), which lets the chain heads — the last audit event, the last outbox sequence, the
//! day's last order number — be kept in memory instead of read back at every write. A
//! transaction works on a copy of the heads and publishes it only when it commits, so a
//! rolled-back transaction leaves them as they were.

use crate::error::Result;
use chrono::NaiveDate;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, Transaction};
use std::ops::{Deref, DerefMut};
use tokio::sync::MutexGuard;

#[derive(Debug, Clone, Default)]
pub(crate) struct Heads {
    /// (seq, hash) of the newest audit event.
    pub audit: Option<(u64, String)>,
    /// The newest outbox sequence number.
    pub outbox: Option<u64>,
    /// The business day and the last order number sequence used on it.
    pub order_number: Option<(NaiveDate, u32)>,
}

pub(crate) struct WriteTx<'a> {
    guard: MutexGuard<'a, Heads>,
    pub heads: Heads,
    /// Audit events and outbox rows of this transaction, inserted at commit.
    pub audit_rows: Vec<pos_protocol::AuditEvent>,
    pub outbox_rows: Vec<crate::outbox::OutboxRow>,
    /// Inserts that nothing in the transaction reads back (a new order's row and first
    /// payment), sent at commit before the audit and outbox rows: every statement is a round
    /// trip to SQLite's worker thread, so they all go in one.
    pub deferred: QueryBuilder<'static, Sqlite>,
    tx: Transaction<'static, Sqlite>,
}

impl<'a> WriteTx<'a> {
    pub async fn begin(
        lock: &'a tokio::sync::Mutex<Heads>,
        pool: &sqlx::SqlitePool,
    ) -> Result<WriteTx<'a>> {
        let guard = lock.lock().await;
        let tx = pool.begin().await?;
        Ok(WriteTx {
            heads: guard.clone(),
            audit_rows: Vec::new(),
            outbox_rows: Vec::new(),
            deferred: QueryBuilder::new(""),
            guard,
            tx,
        })
    }

    pub async fn commit(mut self) -> Result<()> {
        let mut batch = std::mem::replace(&mut self.deferred, QueryBuilder::new(""));
        crate::audit::push_insert(&mut batch, std::mem::take(&mut self.audit_rows))?;
        crate::outbox::push_insert(&mut batch, std::mem::take(&mut self.outbox_rows));
        if !batch.sql().is_empty() {
            batch.build().execute(&mut *self.tx).await?;
        }
        self.tx.commit().await?;
        *self.guard = std::mem::take(&mut self.heads);
        Ok(())
    }
}

impl Deref for WriteTx<'_> {
    type Target = SqliteConnection;
    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx<'_> {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}
