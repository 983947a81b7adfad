//! The outbox (SPEC §6.5): domain events written in the transaction of the change they
//! describe, read in commit order by `GET /events` and the relay.

use sqlx::Postgres;
use uuid::Uuid;

/// One buffered outbox row: an event of `pos_protocol::DomainEvent`, as written.
pub(super) struct OutboxRow {
    pub(super) id: Uuid,
    pub(super) event_type: &'static str,
    pub(super) aggregate: Uuid,
    pub(super) payload: serde_json::Value,
}

/// `INSERT INTO outbox_events ... SELECT ... FROM unnest(...)`: the same text for any number of
/// rows (see [`super::chain::push_insert`]).
pub(super) fn push_insert<'q>(
    qb: &mut sqlx::QueryBuilder<'q, Postgres>,
    tenant: Uuid,
    rows: &'q [OutboxRow],
) {
    qb.push("INSERT INTO outbox_events (tenant_id, id, event_type, aggregate_id, payload) SELECT ")
        .push_bind(tenant)
        .push(", u.* FROM unnest(");
    qb.separated(", ")
        .push_bind(rows.iter().map(|r| r.id).collect::<Vec<_>>())
        .push_bind(rows.iter().map(|r| r.event_type).collect::<Vec<_>>())
        .push_bind(rows.iter().map(|r| r.aggregate).collect::<Vec<_>>())
        .push_bind(rows.iter().map(|r| &r.payload).collect::<Vec<_>>());
    qb.push(") AS u");
}
