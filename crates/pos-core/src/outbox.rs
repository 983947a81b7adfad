//! The sync outbox: every change records its mutation in the change's own transaction. The
//! payload carries customer data, so it is stored encrypted, bound to its mutation id.

use crate::crypto::{Aad, FieldCipher};
use crate::db::ts;
use crate::error::{Result, StoreError};
use chrono::{DateTime, Utc};
use pos_domain::{Hlc, OrderId, Role, StaffId};
use pos_protocol::{Mutation, MutationBody};
use serde::Serialize;
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

pub(crate) fn payload_aad(mutation_id: &str) -> Aad<'_> {
    Aad {
        table: "outbox",
        record_id: mutation_id,
        field: "payload",
    }
}

#[allow(clippy::too_many_arguments)]
pub(crate) async fn append(
    conn: &mut SqliteConnection,
    cipher: &FieldCipher,
    device_id: Uuid,
    hlc: Hlc,
    at: DateTime<Utc>,
    actor: (StaffId, Role),
    order_id: OrderId,
    body: MutationBody,
) -> Result<Mutation> {
    let seq: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) + 1 FROM outbox")
        .fetch_one(&mut *conn)
        .await?;
    let m = Mutation {
        mutation_id: Uuid::now_v7(),
        device_id,
        seq: seq as u64,
        hlc,
        actor_id: actor.0,
        actor_role: actor.1,
        order_id,
        body,
    };
    let id = m.mutation_id.to_string();
    let json = zeroize::Zeroizing::new(serde_json::to_vec(&m).map_err(StoreError::corrupt)?);
    let payload = cipher.encrypt(&json, payload_aad(&id));
    sqlx::query(
        "INSERT INTO outbox (seq, mutation_id, order_id, kind, hlc, payload, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)",
    )
    .bind(seq)
    .bind(&id)
    .bind(order_id.to_string())
    .bind(m.body.kind())
    .bind(hlc.to_string())
    .bind(payload)
    .bind(ts(&at))
    .execute(&mut *conn)
    .await?;
    sqlx::query("UPDATE orders SET unsynced = unsynced + 1 WHERE id = ?")
        .bind(order_id.to_string())
        .execute(&mut *conn)
        .await?;
    Ok(m)
}

/// A queued mutation with its delivery state.
#[derive(Debug, Clone, Serialize)]
pub struct OutboxEntry {
    pub seq: u64,
    pub state: String,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub mutation: Mutation,
}

pub(crate) fn decode(cipher: &FieldCipher, r: &sqlx::sqlite::SqliteRow) -> Result<OutboxEntry> {
    let id: String = r.get("mutation_id");
    let payload: Vec<u8> = r.get("payload");
    let json = cipher
        .decrypt(&payload, payload_aad(&id))
        .ok_or(StoreError::Decrypt)?;
    let mutation: Mutation = serde_json::from_slice(&json).map_err(StoreError::corrupt)?;
    Ok(OutboxEntry {
        seq: r.get::<i64, _>("seq") as u64,
        state: r.get("state"),
        attempts: r.get::<i64, _>("attempts") as u32,
        last_error: r.get("last_error"),
        mutation,
    })
}
