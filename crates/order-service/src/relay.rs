//! The outbox relay (issue 21): publishes the transactional outbox to Kafka, as the original
//! plan streams it — domain events to `order-events` keyed by order id (an order's events stay
//! in order in one partition), audit events to `audit-events` keyed by their chain (a counter's
//! device id, or one of the service's own chains).
//!
//! - **Never skips**: each tenant's outbox is read by `seq`, which is commit order (a tenant's
//!   outbox rows are numbered and committed one transaction at a time, see the migration
//!   `service_clock`), and each audit chain by its `seq` (one writer per chain at a time). The
//!   stored positions (`relay_positions`) move only after the broker acknowledged every event up
//!   to them, so a relay killed anywhere resumes with no gap; what it sent again carries the same
//!   event id (header `event_id` and in the JSON), for consumers to drop.
//! - **Idempotent producer, `acks=all`**, and no delivery timeout (`message.timeout.ms=0`):
//!   while the broker is away the relay waits and retries rather than leave a gap, and lag grows.
//! - **One relay at a time** across replicas: the leader holds a PostgreSQL session advisory
//!   lock on the connection it reads and writes positions with; when it dies its connection
//!   closes (TCP keepalives: within about 25 s of its host going silent), the lock goes, and
//!   another replica's relay takes over within a poll. A leader checks its connection every
//!   second while it waits for the broker and stops (purging what it queued) when it is gone.
//! - **Bounded**: a round publishes at most [`RelayConfig::round_limit`] events, shared between
//!   tenants and chains in turn, however far behind the relay is; after a failure it waits
//!   longer each time (up to 30 s).
//! - Reads run as the service's runtime role, tenant by tenant under row-level security; the
//!   tenant list comes from `relay_tenant_ids()` (ids only).
//! - No personal data leaves: domain events hold ids and amounts; audit events ids, names of
//!   the changed fields and the chain's hashes, never the fields' value hashes (unkeyed, a
//!   phone number's would be reversed by trying them all).
//!
//! The client is `rdkafka` (librdkafka, built from its bundled source): a maintained client
//! with the idempotent producer, `acks=all`, TLS and SASL, which the pure-Rust clients lack.

use crate::metrics::Metrics;
use chrono::{DateTime, Utc};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord, Producer as _};
use rdkafka::ClientConfig;
use serde::Serialize;
use sqlx::{Connection, PgConnection, Row};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use uuid::Uuid;

/// The advisory lock the leading relay holds (any constant: "relay" in ASCII).
const LEADER_LOCK: i64 = 0x72_656c_6179;
/// The version of the JSON documents published (see `docs/events.md`).
pub const SCHEMA_VERSION: u32 = 1;
/// The stream id of a tenant's domain events in `relay_positions` (one per tenant).
const ORDER_STREAM: Uuid = Uuid::nil();

/// Where and how to publish.
#[derive(Clone)]
pub struct RelayConfig {
    /// `host:port,host:port`.
    pub brokers: String,
    pub order_topic: String,
    pub audit_topic: String,
    pub client_id: String,
    /// librdkafka settings passed through as given (`security.protocol`, `sasl.mechanism`,
    /// `sasl.username`, `ssl.ca.location`, …); none of [`GUARANTEES`].
    pub options: Vec<(String, String)>,
    /// Partitions of a topic the relay creates (when missing).
    pub partitions: i32,
    /// How often an idle relay looks again, and a follower tries to lead.
    pub poll: Duration,
    /// Most rows read per stream per round.
    pub batch: i64,
    /// Most events published per round, all streams together: bounds the relay's memory and
    /// the producer's queue however far behind it is (a broker away for an hour).
    pub round_limit: usize,
    /// Longest a database statement of the relay may take before it gives up the lead (a
    /// network cut that leaves the connection hanging).
    pub database_timeout: Duration,
}

/// The librdkafka settings the relay's guarantees rest on (idempotence, `acks=all`, no
/// delivery timeout, ordered retries, its queue's bounds, the partition of a key): set by the
/// relay or left at librdkafka's defaults, refused from the passed-through options.
pub const GUARANTEES: [&str; 14] = [
    "enable.idempotence",
    "acks",
    "request.required.acks",
    "max.in.flight.requests.per.connection",
    "max.in.flight",
    "message.timeout.ms",
    "delivery.timeout.ms",
    "retries",
    "message.send.max.retries",
    "queue.buffering.max.messages",
    "queue.buffering.max.kbytes",
    // another partitioner would move an order's later events to another partition
    "partitioner",
    "enable.gapless.guarantee",
    "transactional.id",
];

impl std::fmt::Debug for RelayConfig {
    // the passed-through options' values may hold a SASL password: their keys only
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelayConfig")
            .field("brokers", &self.brokers)
            .field("order_topic", &self.order_topic)
            .field("audit_topic", &self.audit_topic)
            .field("client_id", &self.client_id)
            .field(
                "options",
                &self.options.iter().map(|(k, _)| k).collect::<Vec<_>>(),
            )
            .field("partitions", &self.partitions)
            .finish_non_exhaustive()
    }
}

impl RelayConfig {
    pub fn new(brokers: impl Into<String>) -> Self {
        RelayConfig {
            brokers: brokers.into(),
            order_topic: "order-events".into(),
            audit_topic: "audit-events".into(),
            client_id: "order-service-relay".into(),
            options: Vec::new(),
            partitions: 6,
            poll: Duration::from_millis(200),
            batch: 2000,
            round_limit: 20_000,
            database_timeout: Duration::from_secs(30),
        }
    }
}

/// The relay's state, as `/readyz` shows it and the metrics count it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RelayStatus {
    /// This process holds the lead.
    pub leader: bool,
    /// The database answered the relay's last attempt (to lead, or to relay).
    pub database_ok: bool,
    /// Events not yet acknowledged by the broker, at the last look (all tenants, both topics;
    /// counted up to [`LAG_COUNT_CAP`] per stream).
    pub lag_rows: i64,
    /// Age of the oldest event not yet relayed, since the service stored it, at the last look
    /// (0 when none).
    pub lag_seconds: f64,
    /// Audit chains held back by a row that does not read (they wait; the others go on).
    pub stuck_chains: usize,
    pub last_relayed_at: Option<DateTime<Utc>>,
    /// The broker's or the database's last complaint (cleared when a round goes through).
    pub last_error: Option<String>,
}

/// The most unrelayed rows of one stream the lag counts (a count beyond it would cost more
/// than it tells).
pub const LAG_COUNT_CAP: i64 = 100_000;

/// Shared between the relay task and `/readyz`.
#[derive(Debug, Default)]
pub struct Relay {
    status: Mutex<RelayStatus>,
}

impl Relay {
    pub fn status(&self) -> RelayStatus {
        self.status.lock().map(|s| s.clone()).unwrap_or_default()
    }

    fn update(&self, f: impl FnOnce(&mut RelayStatus)) {
        if let Ok(mut s) = self.status.lock() {
            f(&mut s);
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RelayError {
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    #[error("the database did not answer within {0:?}")]
    DatabaseTimeout(Duration),
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
    #[error("an event could not be written as JSON: {0}")]
    Encode(#[from] serde_json::Error),
}

/// One row to publish.
struct Outgoing {
    topic_is_audit: bool,
    key: String,
    event_id: Uuid,
    event_type: String,
    payload: Vec<u8>,
}

/// A published domain event (`order-events`), version [`SCHEMA_VERSION`].
#[derive(Serialize)]
struct OrderEventDoc<'a> {
    schema_version: u32,
    event_id: Uuid,
    event_type: &'a str,
    tenant_id: Uuid,
    /// The event's position in its tenant's outbox (commit order).
    sequence: i64,
    order_id: Uuid,
    occurred_at: DateTime<Utc>,
    data: &'a serde_json::Value,
}

/// A published audit event (`audit-events`), version [`SCHEMA_VERSION`]: the event as the
/// service keeps it, but its fields' value hashes withheld (see [`withhold_value_hashes`]).
#[derive(Serialize)]
struct AuditEventDoc<'a> {
    schema_version: u32,
    event_id: Uuid,
    tenant_id: Uuid,
    /// The chain: a counter's device id, or one of the service's own.
    chain_id: Uuid,
    /// Always `true` in this version: `event.fields` name what changed, without hashes.
    value_hashes_withheld: bool,
    event: &'a pos_protocol::AuditEvent,
}

/// The audit event as it leaves for Kafka: each changed field keeps its name, not the SHA-256
/// of its old and new values. Those hashes are not keyed, so one of a value with few
/// possibilities (a phone number, a search for one) is reversed by trying them all: outside the
/// service they would be personal data. A consumer links the chain by `prev_hash` and `hash`;
/// the service's `GET /audit-events/verify` recomputes the hashes.
fn withhold_value_hashes(mut e: pos_protocol::AuditEvent) -> pos_protocol::AuditEvent {
    for f in &mut e.fields {
        f.old_hash = None;
        f.new_hash = None;
    }
    e
}

/// The producer's context: librdkafka's own errors (a broker unreachable, a failed
/// authentication) are counted and shown in the relay's state.
struct RelayContext {
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
}

impl rdkafka::ClientContext for RelayContext {
    fn error(&self, error: rdkafka::error::KafkaError, reason: &str) {
        tracing::warn!(error = %error, reason, "the Kafka client reports an error");
        self.metrics.count_relay_error();
        self.relay
            .update(|s| s.last_error = Some(format!("{error}: {reason}")));
    }
}

impl rdkafka::producer::ProducerContext for RelayContext {
    type DeliveryOpaque = ();
    fn delivery(&self, _: &rdkafka::message::DeliveryResult<'_>, _: Self::DeliveryOpaque) {}
}

type Producer = FutureProducer<RelayContext>;

fn producer(
    cfg: &RelayConfig,
    relay: &Arc<Relay>,
    metrics: &Arc<Metrics>,
) -> Result<Producer, RelayError> {
    let mut c = ClientConfig::new();
    c.set("linger.ms", "5");
    for (k, v) in &cfg.options {
        c.set(k, v);
    }
    // last, over anything passed through (the configuration refuses these keys too)
    c.set("bootstrap.servers", &cfg.brokers)
        .set("client.id", &cfg.client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // no gaps: a message is retried until the broker takes it
        .set("message.timeout.ms", "0")
        // ordered retries under idempotence need at most 5 in flight
        .set("max.in.flight.requests.per.connection", "5")
        // a round never queues more than its limit: room for two
        .set(
            "queue.buffering.max.messages",
            (cfg.round_limit.max(1) * 2).to_string(),
        );
    Ok(c.create_with_context(RelayContext {
        relay: relay.clone(),
        metrics: metrics.clone(),
    })?)
}

/// Creates the two topics when the broker lacks them (a real Kafka's operators may have made
/// them already: then nothing changes).
async fn ensure_topics(cfg: &RelayConfig) -> Result<(), RelayError> {
    use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
    let mut c = ClientConfig::new();
    for (k, v) in &cfg.options {
        c.set(k, v);
    }
    c.set("bootstrap.servers", &cfg.brokers)
        .set("client.id", &cfg.client_id);
    let admin: AdminClient<rdkafka::client::DefaultClientContext> = c.create()?;
    let topics = [
        NewTopic::new(
            &cfg.order_topic,
            cfg.partitions,
            TopicReplication::Fixed(-1),
        ),
        NewTopic::new(
            &cfg.audit_topic,
            cfg.partitions,
            TopicReplication::Fixed(-1),
        ),
    ];
    let results = admin
        .create_topics(
            &topics,
            &AdminOptions::new().operation_timeout(Some(Duration::from_secs(10))),
        )
        .await?;
    for r in results {
        if let Err((topic, code)) = r {
            if code != rdkafka::types::RDKafkaErrorCode::TopicAlreadyExists {
                tracing::warn!(topic, error = %code, "a relay topic could not be created");
            }
        }
    }
    Ok(())
}

/// The wait after the `failures`-th failure in a row: the poll interval doubled each time, at
/// most 30 s (a broker or database away is not hammered; one back is found within 30 s).
fn backoff(poll: Duration, failures: u32) -> Duration {
    let factor = 1u32 << failures.min(8);
    (poll * factor).min(Duration::from_secs(30))
}

/// The relay's connection: the leader's advisory lock lives on it. The server closes it (and
/// so frees the lock for another replica) within about 25 s of the relay's host going silent
/// (TCP keepalives, not the OS's two hours).
async fn connect(database_url: &str) -> Result<PgConnection, sqlx::Error> {
    use sqlx::ConnectOptions;
    let opts: sqlx::postgres::PgConnectOptions = database_url.parse()?;
    opts.options([
        ("tcp_keepalives_idle", "10"),
        ("tcp_keepalives_interval", "5"),
        ("tcp_keepalives_count", "3"),
    ])
    .application_name("order-service-relay")
    .connect()
    .await
}

/// Runs `f` on the relay's connection, giving up after `limit` (a connection cut without a
/// word from the network would otherwise hang the leader, and keep its lock, for hours).
async fn within<T>(
    limit: Duration,
    f: impl std::future::Future<Output = Result<T, sqlx::Error>>,
) -> Result<T, RelayError> {
    match tokio::time::timeout(limit, f).await {
        Ok(r) => Ok(r?),
        Err(_) => Err(RelayError::DatabaseTimeout(limit)),
    }
}

/// Runs the relay until the process ends: tries to lead every `poll` (on one connection kept
/// open); while leading, publishes every round what is new and moves the positions. After a
/// failure it gives up the lead and waits longer each time ([`backoff`]).
pub async fn run(
    database_url: String,
    cfg: RelayConfig,
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    time: pos_domain::TimeSource,
) {
    let mut topics_ready = false;
    let mut failures = 0u32;
    let mut conn: Option<PgConnection> = None;
    loop {
        let result = attempt(
            &mut conn,
            &database_url,
            &cfg,
            &relay,
            &metrics,
            &time,
            &mut topics_ready,
            &mut failures,
        )
        .await;
        let wait = match result {
            Ok(()) => {
                failures = 0;
                cfg.poll
            }
            Err(e) => {
                tracing::warn!(error = %e, "the relay stopped leading");
                metrics.count_relay_error();
                metrics.relay_leader(false);
                let database =
                    matches!(e, RelayError::Database(_) | RelayError::DatabaseTimeout(_));
                relay.update(|s| {
                    s.leader = false;
                    if database {
                        s.database_ok = false;
                    }
                    s.last_error = Some(e.to_string());
                });
                // the lead (and its lock) goes with the connection: another replica may take it
                if let Some(c) = conn.take() {
                    let _ = tokio::time::timeout(Duration::from_secs(1), c.close()).await;
                }
                failures = failures.saturating_add(1);
                backoff(cfg.poll, failures)
            }
        };
        tokio::time::sleep(wait).await;
    }
}

/// [`run`] in the background of `serve`, started again should it panic (its state then says
/// so, rather than showing the last leader's state for ever).
pub fn spawn(
    database_url: String,
    cfg: RelayConfig,
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    time: pos_domain::TimeSource,
) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            let task = tokio::spawn(run(
                database_url.clone(),
                cfg.clone(),
                relay.clone(),
                metrics.clone(),
                time.clone(),
            ));
            match task.await {
                Err(e) if e.is_panic() => {
                    tracing::error!("the relay panicked; it starts again");
                    metrics.count_relay_error();
                    metrics.relay_leader(false);
                    relay.update(|s| {
                        s.leader = false;
                        s.last_error = Some("the relay panicked and started again".into());
                    });
                    tokio::time::sleep(Duration::from_secs(1)).await;
                }
                _ => return,
            }
        }
    })
}

/// One try: connects if need be, leads if the lock is free (until something fails), else
/// returns `Ok` (another process leads).
#[allow(clippy::too_many_arguments)]
async fn attempt(
    conn: &mut Option<PgConnection>,
    database_url: &str,
    cfg: &RelayConfig,
    relay: &Arc<Relay>,
    metrics: &Arc<Metrics>,
    time: &pos_domain::TimeSource,
    topics_ready: &mut bool,
    failures: &mut u32,
) -> Result<(), RelayError> {
    if conn.is_none() {
        *conn = Some(within(cfg.database_timeout, connect(database_url)).await?);
    }
    let Some(c) = conn.as_mut() else {
        return Ok(());
    };
    let led: bool = within(
        cfg.database_timeout,
        sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
            .bind(LEADER_LOCK)
            .fetch_one(&mut *c),
    )
    .await?;
    relay.update(|s| s.database_ok = true);
    if !led {
        relay.update(|s| s.leader = false);
        metrics.relay_leader(false);
        return Ok(());
    }
    lead(c, cfg, relay, metrics, time, topics_ready, failures).await
}

/// One term as the leader: relays round after round until something fails (the error ends
/// the term; its caller closes the connection, which frees the lock).
async fn lead(
    conn: &mut PgConnection,
    cfg: &RelayConfig,
    relay: &Arc<Relay>,
    metrics: &Arc<Metrics>,
    time: &pos_domain::TimeSource,
    topics_ready: &mut bool,
    failures: &mut u32,
) -> Result<(), RelayError> {
    tracing::info!("the relay leads");
    relay.update(|s| s.leader = true);
    metrics.relay_leader(true);
    if !*topics_ready {
        // bounded: a broker that never answers must not hold the relay (it retries next term)
        match tokio::time::timeout(Duration::from_secs(30), ensure_topics(cfg)).await {
            Ok(Ok(())) => *topics_ready = true,
            Ok(Err(e)) => tracing::warn!(error = %e, "the relay topics could not be checked"),
            Err(_) => tracing::warn!("the broker did not answer about the relay topics"),
        }
    }
    let producer = producer(cfg, relay, metrics)?;
    let mut turns = Turns::default();
    loop {
        let sent = match round(conn, cfg, &producer, relay, metrics, time, &mut turns).await {
            Ok(n) => n,
            Err(e) => {
                // what is still queued is not sent by a relay that may have lost the lead; the
                // positions did not move, so the next leader sends it again
                producer.purge(rdkafka::producer::PurgeConfig::default().queue().inflight());
                return Err(e);
            }
        };
        *failures = 0;
        turns.round = turns.round.wrapping_add(1);
        if sent == 0 {
            tokio::time::sleep(cfg.poll).await;
        }
    }
}

/// Whose turn it is, kept across a term's rounds: the round's number (each starts with another
/// tenant), where each tenant's slice of its chains begins when they are more than the round
/// can take, and the audit chains held back by a row that does not read (by position: they
/// are looked at again when the position moves, or in the next term).
#[derive(Default)]
struct Turns {
    round: usize,
    chain_cursor: std::collections::HashMap<Uuid, usize>,
    stuck: std::collections::HashMap<(Uuid, Uuid), i64>,
}

/// How many unrelayed rows a stream has, given that a read of at most `limit` from its
/// position returned `read`: exact when the read took them all, else counted (up to
/// [`LAG_COUNT_CAP`]).
async fn behind(
    conn: &mut PgConnection,
    cfg: &RelayConfig,
    tenant: Uuid,
    from: i64,
    read: usize,
    limit: i64,
) -> Result<i64, RelayError> {
    if (read as i64) < limit {
        return Ok(read as i64);
    }
    within(
        cfg.database_timeout,
        sqlx::query_scalar(
            "SELECT count(*) FROM (SELECT 1 FROM outbox_events
             WHERE tenant_id = $1 AND seq > $2 LIMIT $3) AS t",
        )
        .bind(tenant)
        .bind(from)
        .bind(LAG_COUNT_CAP)
        .fetch_one(&mut *conn),
    )
    .await
}

/// Reads what is new in every tenant's outbox and audit chains (at most
/// [`RelayConfig::round_limit`] events, shared out so that no tenant or chain waits behind
/// another for long), publishes it, waits for the broker's acknowledgements, then moves the
/// positions. Returns how many events it published.
#[allow(clippy::too_many_arguments)]
async fn round(
    conn: &mut PgConnection,
    cfg: &RelayConfig,
    producer: &Producer,
    relay: &Relay,
    metrics: &Metrics,
    time: &pos_domain::TimeSource,
    turns: &mut Turns,
) -> Result<usize, RelayError> {
    let limit = cfg.database_timeout;
    let mut tenants: Vec<Uuid> = within(
        limit,
        sqlx::query_scalar("SELECT relay_tenant_ids()").fetch_all(&mut *conn),
    )
    .await?;
    // the database's clock, as the rows' own times are (the lag compares like with like)
    let db_now: DateTime<Utc> = within(
        limit,
        sqlx::query_scalar("SELECT clock_timestamp()").fetch_one(&mut *conn),
    )
    .await?;
    let started = std::time::Instant::now();
    // each round starts with another tenant: a busy one cannot keep the last waiting
    if !tenants.is_empty() {
        let k = turns.round % tenants.len();
        tenants.rotate_left(k);
    }
    let tenant_count = tenants.len();
    let mut budget = cfg.round_limit.max(1);
    let mut outgoing = Vec::new();
    let mut moves: Vec<(&'static str, Uuid, Uuid, i64)> = Vec::new();
    let mut lag_rows = 0i64;
    let mut oldest: Option<DateTime<Utc>> = None;
    let mut stuck_chains = 0usize;
    for (i, tenant) in tenants.into_iter().enumerate() {
        // a fair share of what is left (at least a batch): what a quiet tenant leaves goes to
        // the ones after it
        let share = (budget / (tenant_count - i)).max(cfg.batch.max(1) as usize);
        let mut tenant_budget = share.min(budget);
        within(
            limit,
            sqlx::query("SELECT set_config('app.tenant_id', $1, false)")
                .bind(tenant.to_string())
                .execute(&mut *conn),
        )
        .await?;
        let positions: std::collections::HashMap<(String, Uuid), i64> = within(
            limit,
            sqlx::query("SELECT topic, stream, position FROM relay_positions WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut *conn),
        )
        .await?
        .iter()
        .map(|r| ((r.get("topic"), r.get("stream")), r.get("position")))
        .collect();
        let at = |topic: &str, stream: Uuid| {
            positions
                .get(&(topic.to_owned(), stream))
                .copied()
                .unwrap_or(0)
        };

        // domain events, in commit order
        let from = at("order", ORDER_STREAM);
        let take = cfg.batch.min(tenant_budget as i64);
        let rows = if take > 0 {
            within(
                limit,
                sqlx::query(
                    "SELECT seq, id, event_type, aggregate_id, payload, created_at FROM outbox_events
                     WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
                )
                .bind(tenant)
                .bind(from)
                .bind(take)
                .fetch_all(&mut *conn),
            )
            .await?
        } else {
            Vec::new()
        };
        budget -= rows.len();
        tenant_budget -= rows.len();
        let waiting = behind(conn, cfg, tenant, from, rows.len(), take).await?;
        lag_rows += waiting;
        let first: Option<DateTime<Utc>> = match rows.first() {
            Some(r) => Some(r.try_get("created_at")?),
            // behind but nothing read (the round's budget went to others): its age still counts
            None if waiting > 0 => {
                within(
                    limit,
                    sqlx::query_scalar(
                        "SELECT created_at FROM outbox_events WHERE tenant_id = $1 AND seq > $2
                     ORDER BY seq LIMIT 1",
                    )
                    .bind(tenant)
                    .bind(from)
                    .fetch_optional(&mut *conn),
                )
                .await?
            }
            None => None,
        };
        if let Some(t) = first {
            oldest = Some(oldest.map_or(t, |o| o.min(t)));
        }
        for r in &rows {
            let payload: serde_json::Value = r.get("payload");
            let event_type: String = r.get("event_type");
            let doc = OrderEventDoc {
                schema_version: SCHEMA_VERSION,
                event_id: r.get("id"),
                event_type: &event_type,
                tenant_id: tenant,
                sequence: r.get("seq"),
                order_id: r.get("aggregate_id"),
                occurred_at: r.get("created_at"),
                data: &payload,
            };
            outgoing.push(Outgoing {
                topic_is_audit: false,
                key: doc.order_id.to_string(),
                event_id: doc.event_id,
                payload: serde_json::to_vec(&doc)?,
                event_type,
            });
        }
        if let Some(last) = rows.last() {
            moves.push(("order", tenant, ORDER_STREAM, last.get("seq")));
        }

        // audit events: the chains and their heads (a loose index scan), then every chain's
        // new events in one statement
        let heads: Vec<(Uuid, i64)> = within(
            limit,
            sqlx::query_as(
                "WITH RECURSIVE c AS (
                    (SELECT device_id FROM audit_events WHERE tenant_id = $1 ORDER BY device_id LIMIT 1)
                    UNION ALL
                    SELECT (SELECT device_id FROM audit_events WHERE tenant_id = $1 AND device_id > c.device_id
                            ORDER BY device_id LIMIT 1)
                    FROM c WHERE c.device_id IS NOT NULL)
                 SELECT c.device_id, (SELECT seq FROM audit_events WHERE tenant_id = $1 AND device_id = c.device_id
                                      ORDER BY seq DESC LIMIT 1)
                 FROM c WHERE c.device_id IS NOT NULL",
            )
            .bind(tenant)
            .fetch_all(&mut *conn),
        )
        .await?;
        let mut pending: Vec<(Uuid, i64)> = Vec::new();
        let mut unread: Vec<(Uuid, i64)> = Vec::new();
        for (chain, head) in &heads {
            let from = at("audit", *chain);
            lag_rows += (head - from).clamp(0, LAG_COUNT_CAP);
            if *head <= from {
                continue;
            }
            if turns.stuck.get(&(tenant, *chain)) == Some(&from) {
                stuck_chains += 1;
                unread.push((*chain, from));
            } else {
                pending.push((*chain, from));
            }
        }
        // the chains this round reads: all when the budget allows, else a slice that moves on
        // each round (each chain at least one event)
        if pending.len() > tenant_budget {
            let cursor = turns.chain_cursor.entry(tenant).or_default();
            let k = *cursor % pending.len();
            pending.rotate_left(k);
            *cursor = cursor.wrapping_add(tenant_budget);
            unread.extend(pending.drain(tenant_budget..));
        }
        // the age of what waits unread counts too (each chain's next event: seq goes up by one)
        if !unread.is_empty() {
            let (chains, froms): (Vec<Uuid>, Vec<i64>) = unread.iter().copied().unzip();
            let t: Option<DateTime<Utc>> = within(
                limit,
                sqlx::query_scalar(
                    "SELECT min(e.received_at) FROM unnest($2::uuid[], $3::bigint[]) AS c(device_id, pos)
                     JOIN audit_events e ON e.tenant_id = $1 AND e.device_id = c.device_id AND e.seq = c.pos + 1",
                )
                .bind(tenant)
                .bind(&chains)
                .bind(&froms)
                .fetch_one(&mut *conn),
            )
            .await?;
            if let Some(t) = t {
                oldest = Some(oldest.map_or(t, |o| o.min(t)));
            }
        }
        if pending.is_empty() {
            continue;
        }
        let per_chain = (tenant_budget / pending.len()).clamp(1, cfg.batch.max(1) as usize);
        let (chains, froms): (Vec<Uuid>, Vec<i64>) = pending.iter().copied().unzip();
        let rows = within(
            limit,
            sqlx::query(
                "SELECT a.* FROM unnest($2::uuid[], $3::bigint[]) AS c(device_id, pos)
                 CROSS JOIN LATERAL (SELECT * FROM audit_events e
                     WHERE e.tenant_id = $1 AND e.device_id = c.device_id AND e.seq > c.pos
                     ORDER BY e.seq LIMIT $4) a
                 ORDER BY a.device_id, a.seq",
            )
            .bind(tenant)
            .bind(&chains)
            .bind(&froms)
            .bind(per_chain as i64)
            .fetch_all(&mut *conn),
        )
        .await?;
        budget = budget.saturating_sub(rows.len());
        let mut last: Vec<(Uuid, i64)> = Vec::new();
        let mut stuck: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
        for r in &rows {
            let chain: Uuid = r.try_get("device_id")?;
            if stuck.contains(&chain) {
                continue;
            }
            let received: DateTime<Utc> = r.try_get("received_at")?;
            let Some(e) = crate::db::chain::row_to_event(r) else {
                tracing::warn!(%chain, "an audit row does not read; the chain waits");
                stuck.insert(chain);
                // remembered at its position: not read again until it moves or the next term
                let at_row = froms[chains.iter().position(|c| *c == chain).unwrap_or(0)];
                let before = last
                    .iter()
                    .find(|(c, _)| *c == chain)
                    .map_or(at_row, |(_, s)| *s);
                turns.stuck.insert((tenant, chain), before);
                oldest = Some(oldest.map_or(received, |o| o.min(received)));
                continue;
            };
            oldest = Some(oldest.map_or(received, |o| o.min(received)));
            let (id, seq, operation) = (e.id, e.seq, e.operation.clone());
            let event = withhold_value_hashes(e);
            let doc = AuditEventDoc {
                schema_version: SCHEMA_VERSION,
                event_id: id,
                tenant_id: tenant,
                chain_id: chain,
                value_hashes_withheld: true,
                event: &event,
            };
            outgoing.push(Outgoing {
                topic_is_audit: true,
                key: chain.to_string(),
                event_id: id,
                event_type: operation,
                payload: serde_json::to_vec(&doc)?,
            });
            match last.last_mut() {
                Some((c, s)) if *c == chain => *s = seq as i64,
                _ => last.push((chain, seq as i64)),
            }
        }
        stuck_chains += stuck.len();
        // a chain that read again is no longer held back
        turns
            .stuck
            .retain(|(t, c), _| *t != tenant || !chains.contains(c) || stuck.contains(c));
        for (chain, seq) in last {
            moves.push(("audit", tenant, chain, seq));
        }
    }
    let base_age = oldest.map_or(0.0, |o| {
        (db_now - o).num_milliseconds().max(0) as f64 / 1000.0
    });
    relay.update(|s| {
        s.lag_rows = lag_rows;
        s.lag_seconds = base_age;
        s.stuck_chains = stuck_chains;
    });
    metrics.relay_lag(lag_rows, base_age);
    metrics.relay_stuck_chains(stuck_chains);
    if outgoing.is_empty() {
        relay.update(|s| s.last_error = None);
        return Ok(0);
    }

    // Publish all, then wait for every acknowledgement (acks=all).
    let mut waiting = Vec::with_capacity(outgoing.len());
    for o in &outgoing {
        let id = o.event_id.to_string();
        let version = SCHEMA_VERSION.to_string();
        let headers = OwnedHeaders::new()
            .insert(Header {
                key: "event_id",
                value: Some(id.as_str()),
            })
            .insert(Header {
                key: "event_type",
                value: Some(o.event_type.as_str()),
            })
            .insert(Header {
                key: "schema_version",
                value: Some(version.as_str()),
            });
        let topic = if o.topic_is_audit {
            &cfg.audit_topic
        } else {
            &cfg.order_topic
        };
        let record = FutureRecord::to(topic)
            .key(&o.key)
            .payload(&o.payload)
            .headers(headers);
        match producer.send_result(record) {
            Ok(f) => waiting.push((o.topic_is_audit, f)),
            Err((e, _)) => return Err(e.into()),
        }
    }
    // While the broker is away the acknowledgements wait (no delivery timeout): the lag's
    // age keeps being shown meanwhile, and the connection (with the lead's lock) is checked
    // every second, so a relay that lost its lock stops instead of publishing on.
    let (kinds, futures): (Vec<bool>, Vec<_>) = waiting.into_iter().unzip();
    let all = futures_util::future::join_all(futures);
    tokio::pin!(all);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let results = loop {
        tokio::select! {
            r = &mut all => break r,
            _ = tick.tick() => {
                let age = if oldest.is_some() { base_age + started.elapsed().as_secs_f64() } else { 0.0 };
                relay.update(|s| s.lag_seconds = age);
                metrics.relay_lag(lag_rows, age);
                within(
                    Duration::from_secs(5).min(limit),
                    sqlx::query("SELECT 1").execute(&mut *conn),
                )
                .await?;
            }
        }
    };
    let (mut orders, mut audits) = (0u64, 0u64);
    for (audit, r) in kinds.into_iter().zip(results) {
        match r {
            Ok(Ok(_)) => {
                if audit {
                    audits += 1
                } else {
                    orders += 1
                }
            }
            Ok(Err((e, _))) => return Err(e.into()),
            Err(_) => return Err(rdkafka::error::KafkaError::Canceled.into()),
        }
    }
    metrics.count_relayed(&cfg.order_topic, orders);
    metrics.count_relayed(&cfg.audit_topic, audits);

    // Only now do the positions move, on the lead's own connection (a relay whose session
    // ended cannot move them); never backwards.
    let now = time.now();
    within(limit, async {
        let mut tx = conn.begin().await?;
        for (topic, tenant, stream, position) in &moves {
            sqlx::query(
                "INSERT INTO relay_positions (topic, tenant_id, stream, position, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (topic, tenant_id, stream) DO UPDATE
                     SET position = GREATEST(relay_positions.position, excluded.position), updated_at = excluded.updated_at",
            )
            .bind(topic)
            .bind(tenant)
            .bind(stream)
            .bind(position)
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    })
    .await?;
    relay.update(|s| {
        s.last_relayed_at = Some(now);
        s.last_error = None;
    });
    Ok(outgoing.len())
}

/// Serves a stand-alone relay's `/metrics` (Prometheus) and `/readyz` (its state, JSON).
pub async fn serve_status(
    listener: tokio::net::TcpListener,
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
) {
    use axum::routing::get;
    let app = axum::Router::new()
        .route(
            "/metrics",
            get(move || {
                let m = metrics.clone();
                async move { m.render() }
            }),
        )
        .route(
            "/readyz",
            get(move || {
                let r = relay.clone();
                async move {
                    use axum::response::IntoResponse;
                    let status = r.status();
                    if status.database_ok {
                        axum::Json(serde_json::json!({"status": "ready", "relay": status}))
                            .into_response()
                    } else {
                        (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(serde_json::json!({"status": "not_ready", "relay": status})),
                        )
                            .into_response()
                    }
                }
            }),
        );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the relay's status endpoint stopped");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_failing_relay_waits_longer_each_time_up_to_30_s() {
        let poll = Duration::from_millis(200);
        assert_eq!(backoff(poll, 1), Duration::from_millis(400));
        assert_eq!(backoff(poll, 2), Duration::from_millis(800));
        assert_eq!(
            backoff(poll, 7),
            Duration::from_secs(25) + Duration::from_millis(600)
        );
        assert_eq!(backoff(poll, 8), Duration::from_secs(30));
        assert_eq!(backoff(poll, u32::MAX), Duration::from_secs(30));
    }
}
