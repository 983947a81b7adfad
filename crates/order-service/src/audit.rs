//! The service's audit trail: the same hash-chained events as the desktop's
//! (`pos_protocol::AuditEvent`). Events the service itself records go into chains of its own
//! ([`Streams`]), each verified like a device's chain.

pub use crate::db::chain::{row_to_event, Head, Streams};
use crate::db::{chain, Tx};
use crate::error::ApiResult;
use pos_protocol::AuditEvent;
use uuid::Uuid;

pub use pos_protocol::audit::NewEvent;

/// Appends `ev` to the service chain `tx` holds (see [`Streams`]); the row is written with the
/// transaction's other buffered rows just before it commits ([`Tx::commit`]).
pub fn record(tx: &mut Tx, ev: NewEvent) -> AuditEvent {
    let (id, at) = (tx.time().new_uuid(), tx.time().now());
    let head = tx.chain();
    let e = ev.chained(id, head.device, at, (head.seq, &head.hash));
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
