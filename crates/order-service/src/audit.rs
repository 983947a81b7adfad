//! The service's audit trail: the same hash-chained events as the desktop's
//! (`pos_protocol::AuditEvent`). Events the service itself records go into chains of its own
//! ([`Streams`]), each verified like a device's chain.

use crate::db::Tx;
use crate::error::ApiResult;
use pos_domain::{Role, StaffId};
use pos_protocol::{AuditAction, AuditEvent, FieldChange, GENESIS_HASH};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use uuid::Uuid;

#[derive(Clone)]
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

/// The head of one of the service's chains: its id (carried as the events' `device_id`), the
/// last sequence number and hash.
#[derive(Clone, Debug)]
pub struct Head {
    pub device: Uuid,
    pub seq: u64,
    pub hash: String,
}

/// The service's own audit chains, kept in memory. Each transaction that records events takes a
/// chain no other transaction is using, so concurrent requests never wait for each other and
/// no head has to be read from the database; a chain is never shared between processes, as its
/// id is derived from this process's random instance id. A tenant gets as many chains as it had
/// transactions recording at once (new ones start at the genesis hash); each is verified like a
/// device's chain.
pub struct Streams {
    /// The service instance's clock and ids (events, outbox rows and transactions read it).
    pub time: pos_domain::TimeSource,
    instance: Uuid,
    next: AtomicU64,
    free: Mutex<HashMap<Uuid, Vec<Head>>>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams::on(pos_domain::TimeSource::default())
    }
}

impl Streams {
    /// A new instance's chains, on `time`.
    pub fn on(time: pos_domain::TimeSource) -> Self {
        Streams {
            time,
            instance: Uuid::new_v4(),
            next: AtomicU64::new(0),
            free: Mutex::default(),
        }
    }
}

impl Streams {
    pub(crate) fn take(&self, tenant: Uuid) -> Head {
        let reused = self
            .free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get_mut(&tenant)
            .and_then(Vec::pop);
        reused.unwrap_or_else(|| {
            let n = self.next.fetch_add(1, Ordering::Relaxed);
            Head {
                device: Uuid::new_v5(
                    &tenant,
                    format!("service-audit-{}-{n}", self.instance).as_bytes(),
                ),
                seq: 0,
                hash: GENESIS_HASH.to_owned(),
            }
        })
    }

    pub(crate) fn put_back(&self, tenant: Uuid, head: Head) {
        self.free
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .entry(tenant)
            .or_default()
            .push(head);
    }
}

/// Appends `ev` to the service chain `tx` holds (see [`Streams`]); the row is written with the
/// transaction's other buffered rows just before it commits ([`Tx::commit`]).
pub fn record(tx: &mut Tx, ev: Event<'_>) -> AuditEvent {
    let (id, at) = (tx.time().new_uuid(), tx.time().now());
    let head = tx.chain();
    let mut e = AuditEvent {
        id,
        device_id: head.device,
        seq: head.seq + 1,
        at,
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
    e.seal(&head.hash);
    head.seq = e.seq;
    head.hash.clone_from(&e.hash);
    tx.written_at_commit(e.clone());
    e
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
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
        push_insert(&mut qb, tenant, chunk.iter().copied());
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// Appends `INSERT INTO audit_events ... SELECT ... FROM unnest(...)` for `events` to `qb`: one
/// array parameter per column, so the statement's text (and its prepared plan) is the same for
/// any number of rows.
pub(crate) fn push_insert<'a>(
    qb: &mut sqlx::QueryBuilder<'a, sqlx::Postgres>,
    tenant: Uuid,
    events: impl IntoIterator<Item = &'a AuditEvent>,
) {
    let events = events.into_iter();
    let n = events.size_hint().0;
    let mut device_id = Vec::with_capacity(n);
    let mut seq = Vec::with_capacity(n);
    let mut id = Vec::with_capacity(n);
    let mut at = Vec::with_capacity(n);
    let mut at_text = Vec::with_capacity(n);
    let mut actor_id = Vec::with_capacity(n);
    let mut actor_role = Vec::with_capacity(n);
    let mut action = Vec::with_capacity(n);
    let mut entity_type = Vec::with_capacity(n);
    let mut entity_id = Vec::with_capacity(n);
    let mut operation = Vec::with_capacity(n);
    let mut detail = Vec::with_capacity(n);
    let mut fields = Vec::with_capacity(n);
    let mut prev_hash = Vec::with_capacity(n);
    let mut hash = Vec::with_capacity(n);
    for e in events {
        device_id.push(e.device_id);
        seq.push(e.seq as i64);
        id.push(e.id);
        at.push(e.at);
        at_text.push(pos_protocol::time::format(&e.at));
        actor_id.push(e.actor_id.map(|a| a.0));
        actor_role.push(e.actor_role.map(|r| r.as_str()));
        action.push(e.action.as_str());
        entity_type.push(e.entity_type.as_str());
        entity_id.push(e.entity_id.as_deref());
        operation.push(e.operation.as_str());
        detail.push(e.detail.as_deref());
        fields.push(sqlx::types::Json(&e.fields));
        prev_hash.push(e.prev_hash.as_str());
        hash.push(e.hash.as_str());
    }
    qb.push(
        "INSERT INTO audit_events (tenant_id, device_id, seq, id, at, at_text, actor_id, actor_role, action,
            entity_type, entity_id, operation, detail, fields, prev_hash, hash) SELECT ",
    )
    .push_bind(tenant)
    .push(", u.* FROM unnest(");
    qb.separated(", ")
        .push_bind(device_id)
        .push_bind(seq)
        .push_bind(id)
        .push_bind(at)
        .push_bind(at_text)
        .push_bind(actor_id)
        .push_bind(actor_role)
        .push_bind(action)
        .push_bind(entity_type)
        .push_bind(entity_id)
        .push_bind(operation)
        .push_bind(detail)
        .push_bind(fields)
        .push_bind(prev_hash)
        .push_bind(hash);
    qb.push(") AS u");
}
