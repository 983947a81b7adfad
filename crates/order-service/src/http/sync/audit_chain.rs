//! The audit events a counter pushes: stored where they continue its hash chain.

use crate::audit;
use crate::db::Tx;
use crate::error::ApiResult;
use pos_protocol::AuditAck;
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// Stores the events that continue the device's chain, in one transaction; refuses the first
/// that does not and everything after it.
pub(super) async fn store_audit(
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    events: &[pos_protocol::AuditEvent],
) -> ApiResult<AuditAck> {
    sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind(format!("audit:{tenant}:{device}"))
        .execute(&mut **tx)
        .await?;
    let head = sqlx::query("SELECT seq, hash FROM audit_events WHERE tenant_id = $1 AND device_id = $2 ORDER BY seq DESC LIMIT 1")
        .bind(tenant)
        .bind(device)
        .fetch_optional(&mut **tx)
        .await?;
    let (mut seq, mut hash) = match head {
        Some(r) => (r.get::<i64, _>("seq") as u64, r.get::<String, _>("hash")),
        None => (0, pos_protocol::GENESIS_HASH.to_owned()),
    };
    let mut rejected = None;
    let mut accepted = Vec::new();
    // Events the service already holds must be the very same (a retried push); a counter
    // restored from an older copy of its store forks its chain, found at the first event
    // that differs.
    let held: Vec<i64> = events
        .iter()
        .filter(|e| e.seq <= seq)
        .map(|e| e.seq as i64)
        .collect();
    let stored: HashMap<i64, String> = if held.is_empty() {
        HashMap::new()
    } else {
        sqlx::query_as::<_, (i64, String)>(
            "SELECT seq, hash FROM audit_events WHERE tenant_id = $1 AND device_id = $2 AND seq = ANY($3)",
        )
        .bind(tenant)
        .bind(device)
        .bind(&held)
        .fetch_all(&mut **tx)
        .await?
        .into_iter()
        .collect()
    };
    for e in events {
        if e.seq <= seq {
            if stored.get(&(e.seq as i64)) != Some(&e.hash) {
                rejected = Some(pos_protocol::ChainBreak {
                    seq: e.seq,
                    reason: "fork: the service holds another event with this number (is this counter restored from an older copy?)".into(),
                });
                break;
            }
            continue;
        }
        if e.device_id != device {
            rejected = Some(pos_protocol::ChainBreak {
                seq: e.seq,
                reason: "event of another device".into(),
            });
            break;
        }
        match pos_protocol::verify_chain(std::iter::once(e), seq, &hash) {
            Ok((s2, h2)) => {
                accepted.push(e);
                seq = s2;
                hash = h2;
            }
            Err(b) => {
                rejected = Some(b);
                break;
            }
        }
    }
    audit::insert_many(tx, tenant, &accepted).await?;
    Ok(AuditAck {
        accepted_through: seq,
        rejected,
    })
}
