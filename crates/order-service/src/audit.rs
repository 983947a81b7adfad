//! The service's audit trail: the same hash-chained events as the desktop's
//! (`pos_protocol::AuditEvent`). Events the service itself records go into chains of its own
//! ([`Streams`]), each verified like a device's chain.

use crate::db::Tx;
use crate::error::ApiResult;
use chrono::Utc;
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
    instance: Uuid,
    next: AtomicU64,
    free: Mutex<HashMap<Uuid, Vec<Head>>>,
}

impl Default for Streams {
    fn default() -> Self {
        Streams {
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
    let head = tx.chain();
    let mut e = AuditEvent {
        id: Uuid::now_v7(),
        device_id: head.device,
        seq: head.seq + 1,
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

/// Appends `INSERT INTO audit_events ... VALUES ...` for `events` to `qb` (at most 4,000 rows:
/// 16 parameters each).
pub(crate) fn push_insert<'a>(
    qb: &mut sqlx::QueryBuilder<'a, sqlx::Postgres>,
    tenant: Uuid,
    events: impl IntoIterator<Item = &'a AuditEvent>,
) {
    qb.push(
        "INSERT INTO audit_events (tenant_id, device_id, seq, id, at, at_text, actor_id, actor_role, action,
            entity_type, entity_id, operation, detail, fields, prev_hash, hash) ",
    );
    qb.push_values(events, |mut b, e| {
        b.push_bind(tenant)
            .push_bind(e.device_id)
            .push_bind(e.seq as i64)
            .push_bind(e.id)
            .push_bind(e.at)
            .push_bind(pos_protocol::time::format(&e.at))
            .push_bind(e.actor_id.map(|a| a.0))
            .push_bind(e.actor_role.map(|r| r.as_str()))
            .push_bind(e.action.as_str())
            .push_bind(&e.entity_type)
            .push_bind(&e.entity_id)
            .push_bind(&e.operation)
            .push_bind(&e.detail)
            .push_bind(sqlx::types::Json(&e.fields))
            .push_bind(&e.prev_hash)
            .push_bind(&e.hash);
    });
}
