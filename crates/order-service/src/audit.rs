//! The service's audit trail: the same hash-chained events as the desktop's
//! (`pos_protocol::AuditEvent`). Events the service itself records go into one of
//! [`STREAMS`] chains per tenant, each verified like a device's chain; a transaction extends the
//! stream of its database connection under that stream's advisory lock, so concurrent requests
//! of one tenant no longer wait for each other's commits (one chain per tenant serialised them).

use crate::db::Tx;
use crate::error::ApiResult;
use chrono::Utc;
use pos_domain::{Role, StaffId};
use pos_protocol::{AuditAction, AuditEvent, FieldChange, GENESIS_HASH};
use sqlx::Row;
use uuid::Uuid;

pub struct Event<'a> {
    pub actor: Option<(Uuid, Role)>,
    pub action: AuditAction,
    pub entity_type: &'a str,
    pub entity_id: Option<String>,
    pub operation: &'a str,
    pub detail: Option<String>,
    pub fields: Vec<FieldChange>,
}

impl<'a> Event<'a> {
    pub fn new(
        actor: (Uuid, Role),
        action: AuditAction,
        entity_type: &'a str,
        entity_id: Option<String>,
        operation: &'a str,
    ) -> Self {
        Event {
            actor: Some(actor),
            action,
            entity_type,
            entity_id,
            operation,
            detail: None,
            fields: Vec::new(),
        }
    }

    pub fn detail(mut self, d: impl Into<String>) -> Self {
        self.detail = Some(d.into());
        self
    }

    pub fn fields(mut self, f: Vec<FieldChange>) -> Self {
        self.fields = f;
        self
    }
}

/// Parallel chains of the service's own events per tenant.
pub const STREAMS: i32 = 16;

/// The id a service stream's events carry as their `device_id` (never a real device's: those
/// are UUIDv7 chosen by the counters, these are name-based v5 ids under the tenant).
pub fn stream_id(tenant: Uuid, stream: i32) -> Uuid {
    Uuid::new_v5(&tenant, format!("service-audit-stream-{stream}").as_bytes())
}

/// Appends `ev` to one of the service chains of `tenant` inside `tx`: the stream of this
/// connection (`pg_backend_pid() % STREAMS`), so every event of one transaction lands in the
/// same stream and a transaction only ever waits for one lock (no deadlock).
pub async fn record(tx: &mut Tx, tenant: Uuid, ev: Event<'_>) -> ApiResult<AuditEvent> {
    let stream: i32 = sqlx::query_scalar(
        "SELECT s.k FROM (SELECT pg_backend_pid() % $2 AS k) s,
                LATERAL (SELECT pg_advisory_xact_lock(hashtextextended($1 || s.k::text, 0))) l",
    )
    .bind(format!("audit:{tenant}:stream:"))
    .bind(STREAMS)
    .fetch_one(&mut **tx)
    .await?;
    let device = stream_id(tenant, stream);
    let head = sqlx::query(
        "SELECT seq, hash FROM audit_events WHERE tenant_id = $1 AND device_id = $2 ORDER BY seq DESC LIMIT 1",
    )
    .bind(tenant)
    .bind(device)
    .fetch_optional(&mut **tx)
    .await?;
    let (seq, prev) = match head {
        Some(r) => (r.get::<i64, _>(0) as u64, r.get::<String, _>(1)),
        None => (0, GENESIS_HASH.to_owned()),
    };
    let mut e = AuditEvent {
        id: Uuid::now_v7(),
        device_id: device,
        seq: seq + 1,
        at: pos_protocol::time::truncate(Utc::now()),
        actor_id: ev.actor.map(|a| StaffId(a.0)),
        actor_role: ev.actor.map(|a| a.1),
        action: ev.action,
        entity_type: ev.entity_type.to_owned(),
        entity_id: ev.entity_id,
        operation: ev.operation.to_owned(),
        detail: ev.detail,
        fields: ev.fields,
        prev_hash: String::new(),
        hash: String::new(),
    };
    e.seal(&prev);
    insert(tx, tenant, &e).await?;
    Ok(e)
}

pub async fn insert(tx: &mut Tx, tenant: Uuid, e: &AuditEvent) -> ApiResult<()> {
    sqlx::query(
        "INSERT INTO audit_events (tenant_id, device_id, seq, id, at, at_text, actor_id, actor_role, action,
            entity_type, entity_id, operation, detail, fields, prev_hash, hash)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
    )
    .bind(tenant)
    .bind(e.device_id)
    .bind(e.seq as i64)
    .bind(e.id)
    .bind(e.at)
    .bind(pos_protocol::time::format(&e.at))
    .bind(e.actor_id.map(|a| a.0))
    .bind(e.actor_role.map(|r| r.as_str()))
    .bind(e.action.as_str())
    .bind(&e.entity_type)
    .bind(&e.entity_id)
    .bind(&e.operation)
    .bind(&e.detail)
    .bind(serde_json::to_value(&e.fields).unwrap_or_default())
    .bind(&e.prev_hash)
    .bind(&e.hash)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub fn row_to_event(r: &sqlx::postgres::PgRow) -> Option<AuditEvent> {
    Some(AuditEvent {
        id: r.get("id"),
        device_id: r.get("device_id"),
        seq: r.get::<i64, _>("seq") as u64,
        at: r.get("at"),
        actor_id: r.get::<Option<Uuid>, _>("actor_id").map(StaffId),
        actor_role: r
            .get::<Option<String>, _>("actor_role")
            .and_then(|s| s.parse().ok()),
        action: r.get::<String, _>("action").parse().ok()?,
        entity_type: r.get("entity_type"),
        entity_id: r.get("entity_id"),
        operation: r.get("operation"),
        detail: r.get("detail"),
        fields: serde_json::from_value(r.get("fields")).ok()?,
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    })
}

/// Inserts events in multi-row statements (a sync push brings thousands).
pub async fn insert_many(tx: &mut Tx, tenant: Uuid, events: &[&AuditEvent]) -> ApiResult<()> {
    for chunk in events.chunks(1000) {
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new(
            "INSERT INTO audit_events (tenant_id, device_id, seq, id, at, at_text, actor_id, actor_role, action,
                entity_type, entity_id, operation, detail, fields, prev_hash, hash) ",
        );
        qb.push_values(chunk, |mut b, e| {
            b.push_bind(tenant)
                .push_bind(e.device_id)
                .push_bind(e.seq as i64)
                .push_bind(e.id)
                .push_bind(e.at)
                .push_bind(pos_protocol::time::format(&e.at))
                .push_bind(e.actor_id.map(|a| a.0))
                .push_bind(e.actor_role.map(|r| r.as_str()))
                .push_bind(e.action.as_str())
                .push_bind(e.entity_type.clone())
                .push_bind(e.entity_id.clone())
                .push_bind(e.operation.clone())
                .push_bind(e.detail.clone())
                .push_bind(serde_json::to_value(&e.fields).unwrap_or_default())
                .push_bind(e.prev_hash.clone())
                .push_bind(e.hash.clone());
        });
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}
