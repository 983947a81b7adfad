//! Group commit of order creates. An order created through the API with an id the service
//! draws (no client id, no `Idempotency-Key`) is validated, priced, numbered and sealed by its
//! request, then queued here; a few writer tasks each take whatever is queued (up to
//! [`MAX_BATCH`]) and write it in one transaction of one statement per tenant — the order rows,
//! their first payments, audit and outbox rows — and hand every request of the batch its order
//! back once it has committed (the response is built from it). Under load, a hundred creates
//! cost a few transactions instead of a hundred; alone, a create waits for nothing (a writer
//! that is free takes it at once).
//!
//! Nothing is answered before its commit, so nothing acknowledged can be lost. A batch that
//! fails (a batch of one too) is rolled back whole and its orders are written again one by one,
//! so one create that the database refuses fails alone. An order's id and number are fixed
//! before it is queued, so writing it again can never make a second order: if a batch's commit
//! was interrupted and had in fact committed, the retry finds the order and answers with it.
//!
//! The writers run on a thread and a runtime of their own, with their own few connections:
//! their round trips to PostgreSQL are then picked up as soon as they are answered, not after
//! the turns of the hundred connections' tasks on the server's runtime (6 % more creates a
//! second at 100 clients, `docs/benchmarks.md`).

use crate::app::create::{insert_orders, NewOrder};
use crate::audit::Streams;
use crate::db::tenant_tx;
use crate::error::{ApiError, ApiResult};
use crate::metrics::Metrics;
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};
use sqlx::PgPool;
use std::sync::{Arc, OnceLock};
use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

/// Writer tasks: each holds at most one pool connection while it writes. Two keep PostgreSQL
/// busy (one batch executes while the other's commit is flushed) with the largest batches: at
/// 100 clients 2 writers did ~3,900–4,800 creates/s, 3 ~3,400–4,100, 4 ~3,200–3,900 and 1
/// ~2,900–3,100 (`docs/benchmarks.md`).
pub const WRITERS: usize = 2;
/// Most orders in one batch (128 was no faster).
pub const MAX_BATCH: usize = 64;
/// Creates waiting for a writer before a request waits to queue.
const QUEUE: usize = 1024;

/// The queue of creates waiting to be written, started on first use.
#[derive(Default)]
pub struct Creates {
    queue: OnceLock<mpsc::Sender<Job>>,
}

struct Job {
    order: NewOrder,
    done: oneshot::Sender<ApiResult<NewOrder>>,
}

/// What the writers need, and not the application state (which holds the queue).
#[derive(Clone)]
struct Writer {
    pool: PgPool,
    streams: Arc<Streams>,
    metrics: Arc<Metrics>,
}

impl Creates {
    /// Queues `order` and waits until it is committed; hands it back.
    /// `pool` names the database the writers connect to; `streams` and `metrics` are the
    /// instance's.
    pub(crate) async fn submit(
        &self,
        (pool, streams, metrics): (&PgPool, &Arc<Streams>, &Arc<Metrics>),
        order: NewOrder,
    ) -> ApiResult<NewOrder> {
        let queue = self.queue.get_or_init(|| {
            let (tx, rx) = mpsc::channel(QUEUE);
            start_writers(
                Arc::new(Mutex::new(rx)),
                pool.connect_options().as_ref().clone(),
                streams.clone(),
                metrics.clone(),
            );
            tx
        });
        // Counted until answered, or until the request is dropped (its client went away).
        let _waiting = Waiting::count(metrics);
        let (done, answer) = oneshot::channel();
        queue
            .send(Job { order, done })
            .await
            .map_err(|_| ApiError::Internal("the order writers have stopped".into()))?;
        answer
            .await
            .map_err(|_| ApiError::Internal("an order writer stopped".into()))?
    }
}

/// Starts [`WRITERS`] writers on a thread of their own. They stop when the queue's sender (the
/// application state) is dropped.
fn start_writers(
    queue: Arc<Mutex<mpsc::Receiver<Job>>>,
    database: PgConnectOptions,
    streams: Arc<Streams>,
    metrics: Arc<Metrics>,
) {
    let started = std::thread::Builder::new()
        .name("order-writers".into())
        .spawn(move || {
            let runtime = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    tracing::error!(error = %e, "the order writers' runtime did not start");
                    return;
                }
            };
            runtime.block_on(async move {
                let w = Writer {
                    // One connection per writer, and one more for the moment a connection
                    // given back is still being checked by the pool.
                    pool: PgPoolOptions::new()
                        .max_connections(WRITERS as u32 + 1)
                        .connect_lazy_with(database),
                    streams,
                    metrics,
                };
                let mut writers = tokio::task::JoinSet::new();
                for _ in 0..WRITERS {
                    writers.spawn(run(queue.clone(), w.clone()));
                }
                while writers.join_next().await.is_some() {}
            });
        });
    // Without writers every create is answered 500 ("the order writers have stopped").
    if let Err(e) = started {
        tracing::error!(error = %e, "the order writers' thread did not start");
    }
}

/// One create in the `order_creates_waiting` gauge while it lives.
struct Waiting<'a>(&'a Metrics);

impl<'a> Waiting<'a> {
    fn count(m: &'a Metrics) -> Self {
        m.creates_waiting(1.0);
        Waiting(m)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.creates_waiting(-1.0);
    }
}

/// A writer: takes what is queued (waiting for the first), writes it, answers, again.
async fn run(queue: Arc<Mutex<mpsc::Receiver<Job>>>, w: Writer) {
    loop {
        let mut jobs = Vec::new();
        {
            let mut q = queue.lock().await;
            match q.recv().await {
                Some(j) => jobs.push(j),
                None => return,
            }
            while jobs.len() < MAX_BATCH {
                match q.try_recv() {
                    Ok(j) => jobs.push(j),
                    Err(_) => break,
                }
            }
        }
        // One transaction per tenant (row-level security is set per transaction).
        let mut groups: Vec<(Uuid, Vec<Job>)> = Vec::new();
        for j in jobs {
            match groups.iter_mut().find(|g| g.0 == j.order.tenant) {
                Some(g) => g.1.push(j),
                None => groups.push((j.order.tenant, vec![j])),
            }
        }
        for (tenant, jobs) in groups {
            // In a task of its own, so that a bug that panics fails its batch's requests (their
            // answers are dropped: 500) and not this writer.
            let w2 = w.clone();
            if let Err(e) = tokio::spawn(async move { write_group(&w2, tenant, jobs).await }).await
            {
                tracing::error!(error = %e, "a batch of creates panicked");
            }
        }
    }
}

async fn write_group(w: &Writer, tenant: Uuid, jobs: Vec<Job>) {
    let (orders, dones): (Vec<NewOrder>, Vec<_>) =
        jobs.into_iter().map(|j| (j.order, j.done)).unzip();
    w.metrics.count_create_batch();
    match write(w, tenant, &orders).await {
        Ok(()) => {
            for (order, done) in orders.into_iter().zip(dones) {
                answer(w, order, done);
            }
        }
        // Each again on its own: the one the database refuses fails alone, and one whose
        // commit happened although its answer was lost is found (a batch of one too).
        Err(e) => {
            tracing::warn!(orders = orders.len(), error = ?e, "a batch of creates failed; writing them one by one");
            for (order, done) in orders.into_iter().zip(dones) {
                match write_one(w, tenant, &order).await {
                    Ok(()) => answer(w, order, done),
                    Err(e) => {
                        let _ = done.send(Err(e));
                    }
                }
            }
        }
    }
}

/// Writes `orders` in one transaction; fails (rolled back) unless every one was inserted.
async fn write(w: &Writer, tenant: Uuid, orders: &[NewOrder]) -> ApiResult<()> {
    let mut tx = tenant_tx(&w.pool, &w.streams, tenant).await?;
    let inserted = insert_orders(&mut tx, orders).await?;
    if inserted.len() != orders.len() {
        return Err(ApiError::Internal(format!(
            "{} of {} orders of a batch were already there",
            orders.len() - inserted.len(),
            orders.len()
        )));
    }
    tx.commit().await?;
    Ok(())
}

/// Writes one order. If its id is already taken, an earlier attempt whose commit was
/// interrupted had in fact committed it (the id was drawn for this order alone): it is written.
async fn write_one(w: &Writer, tenant: Uuid, order: &NewOrder) -> ApiResult<()> {
    let mut tx = tenant_tx(&w.pool, &w.streams, tenant).await?;
    if !insert_orders(&mut tx, std::slice::from_ref(order))
        .await?
        .is_empty()
    {
        return tx.commit().await;
    }
    drop(tx);
    let mut tx = tenant_tx(&w.pool, &w.streams, tenant).await?;
    sqlx::query("SELECT 1 FROM orders WHERE tenant_id = $1 AND id = $2")
        .bind(tenant)
        .bind(order.id)
        .fetch_one(&mut *tx)
        .await?;
    Ok(())
}

/// Hands a committed order back to its request and counts it.
fn answer(w: &Writer, order: NewOrder, done: oneshot::Sender<ApiResult<NewOrder>>) {
    w.metrics.count(order.counted());
    // The request may have gone (its client disconnected): its order stays written.
    let _ = done.send(Ok(order));
}
