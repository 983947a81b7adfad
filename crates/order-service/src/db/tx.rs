//! Tenant-scoped transactions: every request's work runs in a transaction that first sets
//! `app.tenant_id`, which the row-level security policies compare with.

use super::chain::{self, Head, Streams};
use super::outbox::{self, OutboxRow};
use crate::error::{ApiError, ApiResult};
use pos_protocol::AuditEvent;
use sqlx::{PgConnection, PgPool, Postgres, Transaction};
use std::ops::{Deref, DerefMut};
use std::sync::Arc;
use uuid::Uuid;

/// A transaction of one tenant. It dereferences to the connection, so queries run on
/// `&mut *tx`. The service's audit events recorded in it extend one chain that the transaction
/// holds alone until it ends (see [`super::chain`]): committed, the chain's new head goes back
/// to the pool of chains; rolled back, its old head does; ended without knowing (a commit that
/// was interrupted), the chain is retired and never extended again.
///
/// Audit and outbox rows are buffered and written in one statement just before the commit
/// (they are append-only and nothing reads them back inside the transaction that wrote them).
pub struct Tx {
    tx: Option<Transaction<'static, Postgres>>,
    tenant: Uuid,
    streams: Arc<Streams>,
    chain: Option<Chain>,
    committing: bool,
    audit: Vec<AuditEvent>,
    outbox: Vec<OutboxRow>,
    savepoint: Option<Mark>,
    /// `db.transaction`, open while the transaction is (a child of the request's span).
    span: tracing::Span,
    /// Counts to make once the transaction has committed (see [`Tx::count_on_commit`]).
    counts: Vec<crate::metrics::Count>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// What was buffered when the savepoint was taken, to forget what came after on a rollback to it.
struct Mark {
    audit: usize,
    outbox: usize,
    counts: usize,
    head: Option<Head>,
}

struct Chain {
    start: Head,
    now: Head,
}

pub async fn tenant_tx(pool: &PgPool, streams: &Arc<Streams>, tenant: Uuid) -> ApiResult<Tx> {
    let span = tracing::info_span!("db.transaction", tenant.id = %tenant, db.system = "postgresql", outcome = tracing::field::Empty);
    // One round trip: the tenant is a UUID (hex digits and dashes), so it can be written into
    // the statement text, which the simple-query protocol needs.
    let tx = tracing::Instrument::instrument(
        pool.begin_with(format!(
            "BEGIN; SELECT set_config('app.tenant_id', '{tenant}', true)"
        )),
        span.clone(),
    )
    .await?;
    Ok(Tx {
        tx: Some(tx),
        tenant,
        streams: streams.clone(),
        chain: None,
        committing: false,
        audit: Vec::new(),
        outbox: Vec::new(),
        savepoint: None,
        span,
        counts: Vec::new(),
        metrics: None,
    })
}

impl Tx {
    /// This transaction, counting into `metrics` what it is told to once it commits.
    pub fn counting(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Counts `c` in the metrics when (and only if) this transaction commits — not what a
    /// rollback, to a savepoint or whole, undid.
    pub fn count_on_commit(&mut self, c: crate::metrics::Count) {
        self.counts.push(c);
    }

    /// The service's clock and ids.
    pub fn time(&self) -> &pos_domain::TimeSource {
        &self.streams.time
    }

    pub async fn commit(mut self) -> ApiResult<()> {
        self.flush().await?;
        if let Some(tx) = self.tx.take() {
            self.committing = true;
            let span = self.span.clone();
            tracing::Instrument::instrument(tx.commit(), span)
                .await
                .map_err(|e| match e {
                    // the COMMIT was sent and its answer lost: it may have gone through
                    sqlx::Error::Io(_) | sqlx::Error::Protocol(_) => {
                        tracing::error!(error = %e, "commit outcome unknown");
                        ApiError::OutcomeUnknown {
                            code: "commit_outcome_unknown",
                            message: "The database connection broke during the commit; whether it took effect is unknown: check, or retry with the same Idempotency-Key".into(),
                        }
                    }
                    e => e.into(),
                })?;
            self.span.record("outcome", "committed");
            if let Some(m) = &self.metrics {
                for c in self.counts.drain(..) {
                    m.count(c);
                }
            }
            self.committing = false;
            if let Some(c) = self.chain.take() {
                self.streams.put_back(self.tenant, c.now);
            }
        }
        Ok(())
    }

    /// Queues an event for the outbox feed (`GET /events`), written at commit.
    /// Queues `event` for the outbox, written at commit (in commit order, with the change).
    pub fn outbox(&mut self, event: pos_protocol::DomainEvent) {
        let id = self.streams.time.new_uuid();
        self.outbox.push(OutboxRow {
            id,
            event_type: event.event_type(),
            aggregate: event.order_id(),
            payload: event.payload(),
        });
    }

    /// Queues a sealed service audit event, written at commit.
    pub(crate) fn written_at_commit(&mut self, e: AuditEvent) {
        self.audit.push(e);
    }

    /// Writes the buffered audit and outbox rows: one statement for a request's few rows.
    async fn flush(&mut self) -> ApiResult<()> {
        let tenant = self.tenant;
        let audit = std::mem::take(&mut self.audit);
        let outbox = std::mem::take(&mut self.outbox);
        let (mut a, mut o) = (&audit[..], &outbox[..]);
        while !a.is_empty() || !o.is_empty() {
            let (now_a, rest_a) = a.split_at(a.len().min(AUDIT_ROWS_PER_STATEMENT));
            let (now_o, rest_o) = o.split_at(o.len().min(OUTBOX_ROWS_PER_STATEMENT));
            (a, o) = (rest_a, rest_o);
            let mut qb = sqlx::QueryBuilder::<Postgres>::new("");
            if !now_a.is_empty() && !now_o.is_empty() {
                qb.push("WITH audit AS (");
                chain::push_insert(&mut qb, tenant, now_a);
                qb.push(") ");
            } else if !now_a.is_empty() {
                chain::push_insert(&mut qb, tenant, now_a);
            }
            if !now_o.is_empty() {
                outbox::push_insert(&mut qb, tenant, now_o);
            }
            qb.build().execute(&mut **self).await?;
        }
        Ok(())
    }

    /// One statement for a whole write: `members` pushes the caller's data-modifying `WITH`
    /// members (`o AS (INSERT ... RETURNING *), p AS (...)`), the rows buffered so far (audit
    /// and outbox) become further members, and `select` — reading the caller's members — ends
    /// it. Its rows are returned. Every statement is a round trip, so recording an order is
    /// `BEGIN`, this, `COMMIT`.
    pub async fn write_with_buffered(
        &mut self,
        members: impl for<'q> FnOnce(&mut sqlx::QueryBuilder<'q, Postgres>),
        select: &str,
    ) -> ApiResult<Vec<sqlx::postgres::PgRow>> {
        if self.audit.len() > AUDIT_ROWS_PER_STATEMENT
            || self.outbox.len() > OUTBOX_ROWS_PER_STATEMENT
        {
            self.flush().await?;
        }
        let tenant = self.tenant;
        let audit = std::mem::take(&mut self.audit);
        let outbox = std::mem::take(&mut self.outbox);
        let mut qb = sqlx::QueryBuilder::<Postgres>::new("WITH ");
        members(&mut qb);
        if !audit.is_empty() {
            qb.push(", audit AS (");
            chain::push_insert(&mut qb, tenant, &audit);
            qb.push(")");
        }
        if !outbox.is_empty() {
            qb.push(", outbox AS (");
            outbox::push_insert(&mut qb, tenant, &outbox);
            qb.push(")");
        }
        qb.push(" ").push(select);
        Ok(qb.build().fetch_all(&mut **self).await?)
    }

    /// `SAVEPOINT mutation` (one level): a rollback to it also forgets the rows buffered since.
    pub async fn savepoint(&mut self) -> ApiResult<()> {
        sqlx::query("SAVEPOINT mutation")
            .execute(&mut **self)
            .await?;
        self.savepoint = Some(Mark {
            audit: self.audit.len(),
            outbox: self.outbox.len(),
            counts: self.counts.len(),
            head: self.chain.as_ref().map(|c| c.now.clone()),
        });
        Ok(())
    }

    pub async fn rollback_to_savepoint(&mut self) -> ApiResult<()> {
        sqlx::query("ROLLBACK TO SAVEPOINT mutation")
            .execute(&mut **self)
            .await?;
        if let Some(m) = &self.savepoint {
            self.audit.truncate(m.audit);
            self.outbox.truncate(m.outbox);
            self.counts.truncate(m.counts);
            if let Some(c) = &mut self.chain {
                c.now = m.head.clone().unwrap_or_else(|| c.start.clone());
            }
        }
        Ok(())
    }

    pub async fn release_savepoint(&mut self) -> ApiResult<()> {
        sqlx::query("RELEASE SAVEPOINT mutation")
            .execute(&mut **self)
            .await?;
        self.savepoint = None;
        Ok(())
    }

    /// The chain this transaction's audit events extend, taken from the pool on first use.
    pub(crate) fn chain(&mut self) -> &mut Head {
        let (streams, tenant) = (&self.streams, self.tenant);
        &mut self
            .chain
            .get_or_insert_with(|| {
                let h = streams.take(tenant);
                Chain {
                    start: h.clone(),
                    now: h,
                }
            })
            .now
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.tx.is_some() {
            self.span.record("outcome", "rolled_back");
        }
        // Not committed: dropping the transaction rolls it back, so the chain is as it was —
        // unless a commit was under way, whose outcome is unknown.
        if let Some(c) = self.chain.take() {
            if !self.committing {
                self.streams.put_back(self.tenant, c.start);
            }
        }
    }
}

impl Deref for Tx {
    type Target = PgConnection;
    fn deref(&self) -> &PgConnection {
        self.tx.as_deref().expect("a live transaction")
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut PgConnection {
        self.tx.as_deref_mut().expect("a live transaction")
    }
}

/// Rows per statement when a transaction's buffered rows are many (a sync push): each column is
/// one array parameter, so this bounds a statement's size, not its parameter count.
const AUDIT_ROWS_PER_STATEMENT: usize = 1000;
const OUTBOX_ROWS_PER_STATEMENT: usize = 5000;
