//! The service's audit trail: the same hash-chained events as the desktop's
//! (`pos_protocol::AuditEvent`). Events the service itself records go into chains of its own
//! ([`Streams`]), each verified like a device's chain.

pub use crate::db::chain::{row_to_event, Head, Streams};
use crate::db::{chain, Tx};
use crate::error::ApiResult;
use pos_domain::{Role, StaffId};
use pos_protocol::{AuditAction, AuditEvent, FieldChange};
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

/// Inserts events in multi-row statements (a sync push brings thousands).
pub async fn insert_many(tx: &mut Tx, tenant: Uuid, events: &[&AuditEvent]) -> ApiResult<()> {
    for chunk in events.chunks(1000) {
        let mut qb = sqlx::QueryBuilder::<sqlx::Postgres>::new("");
        chain::push_insert(&mut qb, tenant, chunk.iter().copied());
        qb.build().execute(&mut **tx).await?;
    }
    Ok(())
}
