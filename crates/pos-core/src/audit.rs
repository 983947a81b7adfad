//! The device's audit trail: every operation appends an event in the same transaction as the
//! change, continuing the hash chain. The table refuses UPDATE and DELETE.

use crate::db::{parse_ts, ts};
use crate::error::{Result, StoreError};
use crate::write_tx::WriteTx;
use chrono::{DateTime, Utc};
use pos_domain::StaffId;
use pos_protocol::{AuditAction, AuditEvent, GENESIS_HASH};
use serde::{Deserialize, Serialize};
use sqlx::{Row, SqliteConnection};
use uuid::Uuid;

/// An event about to be written; [`append`] puts it in the device's chain.
pub(crate) use pos_protocol::audit::NewEvent;

/// Appends `ev` after the device's last event, inside the caller's transaction.
pub(crate) async fn append(
    tx: &mut WriteTx<'_>,
    device_id: Uuid,
    at: DateTime<Utc>,
    ev: NewEvent,
) -> Result<AuditEvent> {
    let (prev_seq, prev_hash) = match tx.heads.audit.take() {
        Some(head) => head,
        None => {
            let last = sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(tx.conn().await?)
                .await?;
            match last {
                Some(r) => (r.get::<i64, _>("seq") as u64, r.get::<String, _>("hash")),
                None => (0, GENESIS_HASH.to_owned()),
            }
        }
    };
    let event = ev.chained(tx.uuid_at(at), device_id, at, (prev_seq, &prev_hash));
    // Written with the transaction's other events when it commits (one statement for all).
    tx.audit_rows.push(event.clone());
    tx.heads.audit = Some((event.seq, event.hash.clone()));
    Ok(event)
}

pub(crate) fn row_to_event(r: &sqlx::sqlite::SqliteRow) -> Result<AuditEvent> {
    let bad = |what: &str| StoreError::corrupt(format!("audit event: bad {what}"));
    Ok(AuditEvent {
        seq: r.get::<i64, _>("seq") as u64,
        id: r.get::<String, _>("id").parse().map_err(|_| bad("id"))?,
        device_id: r
            .get::<String, _>("device_id")
            .parse()
            .map_err(|_| bad("device"))?,
        at: parse_ts(&r.get::<String, _>("at"))?,
        actor_id: r
            .get::<Option<String>, _>("actor_id")
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| bad("actor"))?,
        actor_role: r
            .get::<Option<String>, _>("actor_role")
            .map(|s| s.parse())
            .transpose()
            .map_err(|_| bad("role"))?,
        action: r
            .get::<String, _>("action")
            .parse()
            .map_err(|_| bad("action"))?,
        entity_type: r.get("entity_type"),
        entity_id: r.get("entity_id"),
        operation: r.get("operation"),
        detail: r.get("detail"),
        fields: serde_json::from_str(&r.get::<String, _>("fields")).map_err(|_| bad("fields"))?,
        prev_hash: r.get("prev_hash"),
        hash: r.get("hash"),
    })
}

/// Filters for the audit log viewer.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditFilter {
    pub action: Option<AuditAction>,
    pub entity_type: Option<String>,
    pub entity_id: Option<String>,
    pub actor_id: Option<StaffId>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Events with `seq` below this (for paging backwards from the newest).
    pub before_seq: Option<u64>,
    pub limit: Option<u32>,
}

/// The outcome of verifying the chain.
#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainReport {
    pub ok: bool,
    pub events_checked: u64,
    pub first_broken_seq: Option<u64>,
    pub reason: Option<String>,
}

/// Reads the whole chain in order and verifies it, returning the first broken link.
pub(crate) async fn verify(conn: &mut SqliteConnection) -> Result<ChainReport> {
    use futures_util::TryStreamExt;
    let mut rows = sqlx::query("SELECT * FROM audit_events ORDER BY seq").fetch(&mut *conn);
    let mut prev_seq = 0u64;
    let mut prev_hash = GENESIS_HASH.to_owned();
    let mut checked = 0u64;
    while let Some(row) = rows.try_next().await? {
        let ev = match row_to_event(&row) {
            Ok(ev) => ev,
            Err(e) => {
                return Ok(ChainReport {
                    ok: false,
                    events_checked: checked,
                    first_broken_seq: Some(row.get::<i64, _>("seq") as u64),
                    reason: Some(e.to_string()),
                })
            }
        };
        match pos_protocol::verify_chain(std::iter::once(&ev), prev_seq, &prev_hash) {
            Ok((s, h)) => {
                prev_seq = s;
                prev_hash = h;
                checked += 1;
            }
            Err(b) => {
                return Ok(ChainReport {
                    ok: false,
                    events_checked: checked,
                    first_broken_seq: Some(b.seq),
                    reason: Some(b.reason),
                })
            }
        }
    }
    Ok(ChainReport {
        ok: true,
        events_checked: checked,
        first_broken_seq: None,
        reason: None,
    })
}

/// Inserts the transaction's events in one statement.
/// Appends `INSERT INTO audit_events ... ;` for `events` to `qb` (nothing for none).
pub(crate) fn push_insert(
    qb: &mut sqlx::QueryBuilder<'static, sqlx::Sqlite>,
    events: Vec<AuditEvent>,
) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    let rows = events
        .into_iter()
        .map(|e| {
            Ok((
                serde_json::to_string(&e.fields).map_err(StoreError::corrupt)?,
                e,
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    qb.push(
        "INSERT INTO audit_events (seq, id, device_id, at, actor_id, actor_role, action, entity_type,
            entity_id, operation, detail, fields, prev_hash, hash) ",
    );
    qb.push_values(rows, |mut b, (f, e)| {
        b.push_bind(e.seq as i64)
            .push_bind(e.id.to_string())
            .push_bind(e.device_id.to_string())
            .push_bind(ts(&e.at))
            .push_bind(e.actor_id.map(|a| a.to_string()))
            .push_bind(e.actor_role.map(|r| r.as_str()))
            .push_bind(e.action.as_str())
            .push_bind(e.entity_type)
            .push_bind(e.entity_id)
            .push_bind(e.operation)
            .push_bind(e.detail)
            .push_bind(f)
            .push_bind(e.prev_hash)
            .push_bind(e.hash);
    });
    qb.push(";\n");
    Ok(())
}
