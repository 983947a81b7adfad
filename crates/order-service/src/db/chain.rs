//! The service's own audit chains ([`Streams`]) and the rows of `audit_events`: the heads a
//! transaction extends, and the one statement that writes any number of events.

use pos_domain::StaffId;
use pos_protocol::{AuditEvent, GENESIS_HASH};
use sqlx::Row;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use uuid::Uuid;

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

/// An `audit_events` row as the event it stores (`None` for a row that does not read).
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
