//! Needs attention: the changes the service refused (or that can never be sent), kept on the
//! counter with the reason until a manager retries or discards each one, every step audited.

use super::AttentionItem;
use crate::audit::{self, NewEvent};
use crate::db::parse_ts;
use crate::error::{Result, StoreError};
use crate::outbox::{self, OutboxEntry};
use crate::session::Session;
use crate::store::staff::ApprovalInput;
use crate::store::Store;
use crate::write_tx::WriteTx;
use chrono::{DateTime, Utc};
use pos_protocol::{AuditAction, FieldChange, MutationBody};
use sqlx::Row;
use uuid::Uuid;

impl Store {
    /// The needs-attention list, oldest first. Looking at it is audited (ACCESS), like every
    /// other list.
    pub async fn needs_attention(&self, session: &Session) -> Result<Vec<AttentionItem>> {
        let mut tx = self.begin_write().await?;
        let rows = sqlx::query(
            "SELECT x.*, o.order_number FROM outbox x LEFT JOIN orders o ON o.id = x.order_id
             WHERE x.state = 'needs_attention' ORDER BY x.seq",
        )
        .fetch_all(tx.conn().await?)
        .await?;
        let items = rows
            .iter()
            .map(|r| {
                let e = outbox::decode(&self.cipher, r)?;
                let amount = match super::carried(&e.mutation) {
                    super::Carried::Order(m) | super::Carried::Payment(m) => Some(m),
                    super::Carried::Nothing => None,
                };
                let code: Option<String> = r.get("result_code");
                Ok(AttentionItem {
                    mutation_id: e.mutation.mutation_id,
                    seq: e.seq,
                    order_id: e.mutation.order_id,
                    order_number: r.get("order_number"),
                    kind: e.mutation.body.kind().to_owned(),
                    status: if code.as_deref() == Some("conflict") {
                        "conflict"
                    } else {
                        "rejected"
                    }
                    .into(),
                    code,
                    reason: e.last_error.clone(),
                    amount,
                    attempts: e.attempts,
                    created_at: parse_ts(&r.get::<String, _>("created_at"))?,
                    service_state: r
                        .get::<Option<String>, _>("server_state")
                        .and_then(|s| serde_json::from_str(&s).ok()),
                })
            })
            .collect::<Result<Vec<_>>>()?;
        self.audit_access(
            &mut tx,
            session,
            "sync",
            "sync.attention_list",
            format!("{} items", items.len()),
        )
        .await?;
        tx.commit().await?;
        Ok(items)
    }

    async fn attention_entry(&self, mutation_id: Uuid) -> Result<(OutboxEntry, Option<String>)> {
        let row =
            sqlx::query("SELECT * FROM outbox WHERE mutation_id = ? AND state = 'needs_attention'")
                .bind(mutation_id.to_string())
                .fetch_optional(&self.pool)
                .await?
                .ok_or(StoreError::NotFound {
                    entity: "mutation needing attention",
                })?;
        Ok((outbox::decode(&self.cipher, &row)?, row.get("server_state")))
    }

    /// Puts a mutation that needs attention back in the queue (after its cause was fixed, e.g.
    /// the approver was added to the roster). An edit that conflicted with a newer version on
    /// the service is re-based on that version: retrying it is the choice to keep this edit.
    pub async fn retry_attention(&self, session: &Session, mutation_id: Uuid) -> Result<()> {
        let (mut e, server_state) = self.attention_entry(mutation_id).await?;
        let mut rebased = None;
        if let MutationBody::OrderUpdated {
            base_version,
            version,
            ..
        } = &mut e.mutation.body
        {
            let server_version = server_state
                .as_deref()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok())
                .and_then(|v| v["version"].as_u64());
            if let Some(v) = server_version {
                *base_version = v as u32;
                *version = v as u32 + 1;
                rebased = Some(*version);
            }
        }
        let mut tx = self.begin_write().await?;
        let now = self.now();
        if rebased.is_some() {
            let payload = outbox::seal_payload(&self.cipher, &e.mutation)?;
            sqlx::query("UPDATE outbox SET payload = ? WHERE seq = ?")
                .bind(payload)
                .bind(e.seq as i64)
                .execute(tx.conn().await?)
                .await?;
        }
        leave_attention(&mut tx, &e, "pending").await?;
        let oid = e.mutation.order_id.to_string();
        if let Some(v) = rebased {
            sqlx::query("UPDATE orders SET version = ? WHERE id = ?")
                .bind(i64::from(v))
                .bind(&oid)
                .execute(tx.conn().await?)
                .await?;
        }
        sqlx::query("UPDATE sync_state SET outbox_floor = MIN(outbox_floor, ?) WHERE id = 1")
            .bind(e.seq as i64 - 1)
            .execute(tx.conn().await?)
            .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Update,
                "sync",
                Some(mutation_id.to_string()),
                "sync.retry",
            )
            .detail(format!(
                "order={oid} kind={}{}",
                e.mutation.body.kind(),
                rebased
                    .map(|v| format!(" rebased_to={v}"))
                    .unwrap_or_default()
            )),
        )
        .await?;
        tx.commit().await
    }

    /// Discards a mutation that needs attention: it will not be sent. Needs an owner's or
    /// manager's approval (their own session, or their PIN on a cashier's screen); the local
    /// order stays as it is, and the discarding is audited with the approver and reason.
    pub async fn discard_attention(
        &self,
        session: &Session,
        mutation_id: Uuid,
        reason: &str,
        approval: Option<ApprovalInput>,
    ) -> Result<()> {
        let reason = crate::store::orders::validate_reason(reason)?;
        let (e, _) = self.attention_entry(mutation_id).await?;
        let (approver, approver_role) = self
            .resolve_approval(session, approval, "sync.discard")
            .await?;
        let mut tx = self.begin_write().await?;
        let now = self.now();
        leave_attention(&mut tx, &e, "discarded").await?;
        let oid = e.mutation.order_id.to_string();
        // This counter's copy may now differ from the service's: ask for it at the next sync.
        sqlx::query(
            "INSERT OR IGNORE INTO pull_deferred (order_id) SELECT id FROM orders WHERE id = ?",
        )
        .bind(&oid)
        .execute(tx.conn().await?)
        .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Delete,
                "sync",
                Some(mutation_id.to_string()),
                "sync.discard",
            )
            .detail(format!(
                "order={oid} kind={} approved_by={approver} role={approver_role}",
                e.mutation.body.kind()
            ))
            .fields(vec![FieldChange::new(
                &mutation_id.to_string(),
                "reason",
                None,
                Some(&reason),
            )]),
        )
        .await?;
        tx.commit().await
    }
}

/// Takes a mutation off the needs-attention list, to `pending` (retried: the service's answer
/// is cleared and it counts as unsynced again) or `discarded` (the answer stays as the record
/// of why), inside the caller's transaction.
async fn leave_attention(tx: &mut WriteTx<'_>, e: &OutboxEntry, to: &'static str) -> Result<()> {
    let retried = to == "pending";
    let n = sqlx::query(
        "UPDATE outbox SET state = ?1,
            last_error = CASE WHEN ?2 THEN NULL ELSE last_error END,
            result_code = CASE WHEN ?2 THEN NULL ELSE result_code END,
            server_state = CASE WHEN ?2 THEN NULL ELSE server_state END
         WHERE seq = ?3 AND state = 'needs_attention'",
    )
    .bind(to)
    .bind(retried)
    .bind(e.seq as i64)
    .execute(tx.conn().await?)
    .await?
    .rows_affected();
    if n != 1 {
        return Err(StoreError::NotFound {
            entity: "mutation needing attention",
        });
    }
    sqlx::query(
        "UPDATE orders SET sync_attention = MAX(sync_attention - 1, 0), unsynced = unsynced + ? WHERE id = ?",
    )
    .bind(i64::from(retried))
    .bind(e.mutation.order_id.to_string())
    .execute(tx.conn().await?)
    .await?;
    Ok(())
}

/// Records that changes went to needs-attention (`detail`: kind, order and code of each).
pub(super) async fn audit_needs_attention(
    tx: &mut WriteTx<'_>,
    device: Uuid,
    now: DateTime<Utc>,
    detail: String,
) -> Result<()> {
    audit::append(
        tx,
        device,
        now,
        NewEvent::new(
            None,
            AuditAction::Update,
            "sync",
            None,
            "sync.needs_attention",
        )
        .detail(detail),
    )
    .await?;
    Ok(())
}

/// Moves a pending mutation to needs-attention with the reason and code a person reads (and
/// the service's state of the order, when it sent one). Returns the rows changed (0 when the
/// mutation was no longer pending).
pub(super) async fn mark_attention(
    tx: &mut WriteTx<'_>,
    seq: u64,
    reason: &str,
    code: &str,
    server_state: Option<String>,
) -> Result<u64> {
    Ok(sqlx::query("UPDATE outbox SET state = 'needs_attention', attempts = attempts + 1, last_error = ?, result_code = ?, server_state = ? WHERE seq = ? AND state = 'pending'")
        .bind(reason)
        .bind(code)
        .bind(server_state)
        .bind(seq as i64)
        .execute(tx.conn().await?)
        .await?
        .rows_affected())
}
