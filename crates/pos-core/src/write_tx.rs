//! Write transactions. Writers take one lock for the whole transaction (SQLite has one writer
//! anyway), which lets the chain heads — the last audit event, the last outbox sequence, the
//! day's last order number — be kept in memory instead of read back at every write. A
//! transaction works on a copy of the heads and publishes it only when it commits, so a
//! rolled-back transaction leaves them as they were.

use crate::error::Result;
use chrono::NaiveDate;
use sqlx::{QueryBuilder, Sqlite, SqliteConnection, SqlitePool, Transaction};
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
    pool: &'a SqlitePool,
    time: &'a pos_domain::TimeSource,
    /// Begun by the first statement that needs the connection before commit (a read). A
    /// transaction that only writes what it buffered — recording an order, once the heads are
    /// known — is sent whole at commit: savepoint, inserts and release in one round trip.
    tx: Option<Transaction<'static, Sqlite>>,
}

/// The batch sent at commit opens and closes this savepoint. Outside a transaction a savepoint
/// begins one and its release commits it; inside the transaction begun by [`WriteTx::conn`]
/// it nests, and the transaction's own commit follows.
const BATCH_SAVEPOINT: &str = "SAVEPOINT write_tx_batch;\n";
const BATCH_RELEASE: &str = "RELEASE write_tx_batch;";

impl<'a> WriteTx<'a> {
    pub async fn begin(
        lock: &'a tokio::sync::Mutex<Heads>,
        pool: &'a SqlitePool,
        time: &'a pos_domain::TimeSource,
    ) -> Result<WriteTx<'a>> {
        let guard = lock.lock().await;
        Ok(WriteTx {
            heads: guard.clone(),
            audit_rows: Vec::new(),
            outbox_rows: Vec::new(),
            deferred: QueryBuilder::new(BATCH_SAVEPOINT),
            guard,
            pool,
            time,
            tx: None,
        })
    }

    /// A new UUIDv7 stamped with `at` (a time read from the store's clock).
    pub fn uuid_at(&self, at: chrono::DateTime<chrono::Utc>) -> uuid::Uuid {
        self.time.uuid_at(at)
    }

    /// The transaction's connection, beginning the transaction on first use.
    pub async fn conn(&mut self) -> Result<&mut SqliteConnection> {
        let tx = match self.tx.take() {
            Some(tx) => tx,
            None => self.pool.begin().await?,
        };
        Ok(&mut **self.tx.insert(tx))
    }

    pub async fn commit(mut self) -> Result<()> {
        let mut batch = std::mem::replace(&mut self.deferred, QueryBuilder::new(""));
        crate::audit::push_insert(&mut batch, std::mem::take(&mut self.audit_rows))?;
        crate::outbox::push_insert(&mut batch, std::mem::take(&mut self.outbox_rows));
        let has_writes = batch.sql().len() > BATCH_SAVEPOINT.len();
        if has_writes {
            batch.push(BATCH_RELEASE);
        }
        match self.tx.take() {
            Some(mut tx) => {
                if has_writes {
                    batch.build().execute(&mut *tx).await?;
                }
                tx.commit().await?;
            }
            None if has_writes => {
                let mut conn = self.pool.acquire().await?;
                if let Err(e) = batch.build().execute(&mut *conn).await {
                    // The batch stopped at a failing statement, possibly inside its
                    // transaction: undo it all. SQLite may already have rolled back (then
                    // this fails with "no transaction is active", which is fine).
                    if let Err(rollback) = sqlx::query("ROLLBACK").execute(&mut *conn).await {
                        if !rollback.to_string().contains("no transaction is active") {
                            // In an unknown state: the pool opens a fresh connection.
                            conn.close_on_drop();
                        }
                    }
                    return Err(e.into());
                }
            }
            None => {}
        }
        *self.guard = std::mem::take(&mut self.heads);
        Ok(())
    }
}
