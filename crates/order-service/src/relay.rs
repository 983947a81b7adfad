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
//!   closes, the lock goes, and another replica's relay takes over within a poll.
//! - Reads run as the service's runtime role, tenant by tenant under row-level security; the
//!   tenant list comes from `relay_tenant_ids()` (ids only).
//! - No plaintext PII leaves: domain events hold ids and amounts, audit events ids and hashes.
//!
//! The client is `rdkafka` (librdkafka, built from its bundled source): a maintained client
//! with the idempotent producer, `acks=all`, TLS and SASL, which the pure-Rust clients lack.

use crate::metrics::Metrics;
use chrono::{DateTime, Utc};
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{FutureProducer, FutureRecord};
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
    /// `sasl.username`, `ssl.ca.location`, …).
    pub options: Vec<(String, String)>,
    /// Partitions of a topic the relay creates (when missing).
    pub partitions: i32,
    /// How often an idle relay looks again, and a follower tries to lead.
    pub poll: Duration,
    /// Most rows read per stream per round.
    pub batch: i64,
}

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
        }
    }
}

/// The relay's state, as `/readyz` shows it and the metrics count it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RelayStatus {
    /// This process holds the lead.
    pub leader: bool,
    /// Events not yet acknowledged by the broker, at the last look (all tenants, both topics).
    pub lag_rows: i64,
    /// Age of the oldest event not yet relayed, at the last look (0 when none).
    pub lag_seconds: f64,
    pub last_relayed_at: Option<DateTime<Utc>>,
    /// The broker's or the database's last complaint (cleared when a round goes through).
    pub last_error: Option<String>,
}

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
    #[error("kafka: {0}")]
    Kafka(#[from] rdkafka::error::KafkaError),
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

/// A published audit event (`audit-events`), version [`SCHEMA_VERSION`].
#[derive(Serialize)]
struct AuditEventDoc<'a> {
    schema_version: u32,
    event_id: Uuid,
    tenant_id: Uuid,
    /// The chain: a counter's device id, or one of the service's own.
    chain_id: Uuid,
    event: &'a pos_protocol::AuditEvent,
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
    c.set("bootstrap.servers", &cfg.brokers)
        .set("client.id", &cfg.client_id)
        .set("enable.idempotence", "true")
        .set("acks", "all")
        // no gaps: a message is retried until the broker takes it
        .set("message.timeout.ms", "0")
        .set("linger.ms", "5");
    for (k, v) in &cfg.options {
        c.set(k, v);
    }
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
    c.set("bootstrap.servers", &cfg.brokers)
        .set("client.id", &cfg.client_id);
    for (k, v) in &cfg.options {
        c.set(k, v);
    }
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

/// Runs the relay until the process ends: tries to lead every `poll`; while leading, publishes
/// every round what is new and moves the positions.
pub async fn run(
    database_url: String,
    cfg: RelayConfig,
    relay: Arc<Relay>,
    metrics: Arc<Metrics>,
    time: pos_domain::TimeSource,
) {
    let mut topics_ready = false;
    loop {
        match lead(
            &database_url,
            &cfg,
            &relay,
            &metrics,
            &time,
            &mut topics_ready,
        )
        .await
        {
            Ok(()) => {}
            Err(e) => {
                tracing::warn!(error = %e, "the relay stopped leading");
                metrics.count_relay_error();
                relay.update(|s| {
                    s.leader = false;
                    s.last_error = Some(e.to_string());
                });
            }
        }
        tokio::time::sleep(cfg.poll).await;
    }
}

/// One term: connects, takes the lead if free, and relays until something fails. `Ok` when
/// another process leads.
async fn lead(
    database_url: &str,
    cfg: &RelayConfig,
    relay: &Arc<Relay>,
    metrics: &Arc<Metrics>,
    time: &pos_domain::TimeSource,
    topics_ready: &mut bool,
) -> Result<(), RelayError> {
    let mut conn = PgConnection::connect(database_url).await?;
    let led: bool = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
        .bind(LEADER_LOCK)
        .fetch_one(&mut conn)
        .await?;
    if !led {
        relay.update(|s| s.leader = false);
        metrics.relay_leader(false);
        let _ = conn.close().await;
        return Ok(());
    }
    tracing::info!("the relay leads");
    relay.update(|s| s.leader = true);
    metrics.relay_leader(true);
    if !*topics_ready {
        match ensure_topics(cfg).await {
            Ok(()) => *topics_ready = true,
            Err(e) => tracing::warn!(error = %e, "the relay topics could not be checked"),
        }
    }
    let producer = producer(cfg, relay, metrics)?;
    loop {
        let sent = round(&mut conn, cfg, &producer, relay, metrics, time).await?;
        if sent == 0 {
            tokio::time::sleep(cfg.poll).await;
        }
    }
}

/// Reads what is new in every tenant's outbox and audit chains, publishes it, waits for the
/// broker's acknowledgements, then moves the positions. Returns how many events it published.
async fn round(
    conn: &mut PgConnection,
    cfg: &RelayConfig,
    producer: &Producer,
    relay: &Relay,
    metrics: &Metrics,
    time: &pos_domain::TimeSource,
) -> Result<usize, RelayError> {
    let tenants: Vec<Uuid> = sqlx::query_scalar("SELECT relay_tenant_ids()")
        .fetch_all(&mut *conn)
        .await?;
    let mut outgoing = Vec::new();
    let mut moves: Vec<(&'static str, Uuid, Uuid, i64)> = Vec::new();
    let mut lag_rows = 0i64;
    let mut oldest: Option<DateTime<Utc>> = None;
    for tenant in tenants {
        sqlx::query("SELECT set_config('app.tenant_id', $1, false)")
            .bind(tenant.to_string())
            .execute(&mut *conn)
            .await?;
        let positions: std::collections::HashMap<(String, Uuid), i64> =
            sqlx::query("SELECT topic, stream, position FROM relay_positions WHERE tenant_id = $1")
                .bind(tenant)
                .fetch_all(&mut *conn)
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
        let rows = sqlx::query(
            "SELECT seq, id, event_type, aggregate_id, payload, created_at FROM outbox_events
             WHERE tenant_id = $1 AND seq > $2 ORDER BY seq LIMIT $3",
        )
        .bind(tenant)
        .bind(from)
        .bind(cfg.batch)
        .fetch_all(&mut *conn)
        .await?;
        let behind: i64 = sqlx::query_scalar(
            "SELECT COALESCE(MAX(seq), 0) FROM outbox_events WHERE tenant_id = $1",
        )
        .bind(tenant)
        .fetch_one(&mut *conn)
        .await?;
        lag_rows += (behind - from).max(0);
        if let Some(r) = rows.first() {
            let t: DateTime<Utc> = r.get("created_at");
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
                payload: serde_json::to_vec(&doc).unwrap_or_default(),
                event_type,
            });
        }
        if let Some(last) = rows.last() {
            moves.push(("order", tenant, ORDER_STREAM, last.get("seq")));
        }

        // audit events: the chains and their heads (a loose index scan), then every chain's
        // new events in one statement
        let heads: Vec<(Uuid, i64)> = sqlx::query_as(
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
        .fetch_all(&mut *conn)
        .await?;
        let (mut chains, mut froms) = (Vec::new(), Vec::new());
        for (chain, head) in &heads {
            let from = at("audit", *chain);
            lag_rows += (head - from).max(0);
            if *head > from {
                chains.push(*chain);
                froms.push(from);
            }
        }
        if !chains.is_empty() {
            let rows = sqlx::query(
                "SELECT a.* FROM unnest($2::uuid[], $3::bigint[]) AS c(device_id, pos)
                 CROSS JOIN LATERAL (SELECT * FROM audit_events e
                     WHERE e.tenant_id = $1 AND e.device_id = c.device_id AND e.seq > c.pos
                     ORDER BY e.seq LIMIT $4) a
                 ORDER BY a.device_id, a.seq",
            )
            .bind(tenant)
            .bind(&chains)
            .bind(&froms)
            .bind(cfg.batch)
            .fetch_all(&mut *conn)
            .await?;
            let mut last: Vec<(Uuid, i64)> = Vec::new();
            let mut stuck: std::collections::HashSet<Uuid> = std::collections::HashSet::new();
            for r in &rows {
                let chain: Uuid = r.get("device_id");
                if stuck.contains(&chain) {
                    continue;
                }
                let Some(e) = crate::db::chain::row_to_event(r) else {
                    tracing::warn!(%chain, "an audit row does not read; the chain waits");
                    stuck.insert(chain);
                    continue;
                };
                oldest = Some(oldest.map_or(e.at, |o| o.min(e.at)));
                let doc = AuditEventDoc {
                    schema_version: SCHEMA_VERSION,
                    event_id: e.id,
                    tenant_id: tenant,
                    chain_id: chain,
                    event: &e,
                };
                outgoing.push(Outgoing {
                    topic_is_audit: true,
                    key: chain.to_string(),
                    event_id: e.id,
                    event_type: e.operation.clone(),
                    payload: serde_json::to_vec(&doc).unwrap_or_default(),
                });
                match last.last_mut() {
                    Some((c, seq)) if *c == chain => *seq = e.seq as i64,
                    _ => last.push((chain, e.seq as i64)),
                }
            }
            for (chain, seq) in last {
                moves.push(("audit", tenant, chain, seq));
            }
        }
    }
    let now = time.now();
    relay.update(|s| {
        s.lag_rows = lag_rows;
        s.lag_seconds = oldest.map_or(0.0, |o| (now - o).num_milliseconds().max(0) as f64 / 1000.0);
    });
    metrics.relay_lag(
        lag_rows,
        oldest.map_or(0.0, |o| (now - o).num_milliseconds().max(0) as f64 / 1000.0),
    );
    if outgoing.is_empty() {
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
    // age keeps being shown meanwhile.
    let (kinds, futures): (Vec<bool>, Vec<_>) = waiting.into_iter().unzip();
    let all = futures_util::future::join_all(futures);
    tokio::pin!(all);
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    tick.tick().await;
    let results = loop {
        tokio::select! {
            r = &mut all => break r,
            _ = tick.tick() => {
                let age = oldest.map_or(0.0, |o| (time.now() - o).num_milliseconds().max(0) as f64 / 1000.0);
                relay.update(|s| s.lag_seconds = age);
                metrics.relay_lag(lag_rows, age);
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
            Ok(Err((e, _))) => {
                metrics.count_relay_error();
                return Err(e.into());
            }
            Err(_) => {
                metrics.count_relay_error();
                return Err(rdkafka::error::KafkaError::Canceled.into());
            }
        }
    }
    metrics.count_relayed(&cfg.order_topic, orders);
    metrics.count_relayed(&cfg.audit_topic, audits);

    // Only now do the positions move (one statement).
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
    tx.commit().await?;
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
    let app =
        axum::Router::new()
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
                        axum::Json(serde_json::json!({"status": "ready", "relay": r.status()}))
                    }
                }),
            );
    if let Err(e) = axum::serve(listener, app).await {
        tracing::error!(error = %e, "the relay's status endpoint stopped");
    }
}
