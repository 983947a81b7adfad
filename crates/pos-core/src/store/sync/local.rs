//! The device's side of sync, in SQLite: pairing, delivery states, and applying the
//! service's answers and central changes (needs-attention is [`super::attention`]).

use super::attention::{audit_needs_attention, mark_attention};
use super::{SyncStatus, Tally, CLOCK_DRIFT_WARNING_MS};
use crate::audit::{self, NewEvent};
use crate::db::{parse_ts, ts};
use crate::error::{Result, StoreError};
use crate::outbox::{self, OutboxEntry};
use crate::session::Session;
use crate::store::Store;
use chrono::{DateTime, Utc};
use pos_protocol::{AuditAction, FieldChange, MutationStatus, PullResponse, PushResponse};
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// This counter's pairing with a shop on the service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairing {
    pub server_url: String,
    pub tenant_id: Uuid,
    pub paired_at: DateTime<Utc>,
    pub audit_acked_through: u64,
    pub pull_cursor: i64,
    pub last_success_at: Option<DateTime<Utc>>,
    pub clock_offset_ms: Option<i64>,
    pub outbox_floor: u64,
}

/// The keyring entry of the device secret.
pub(crate) fn secret_id(device_id: Uuid) -> String {
    format!("{device_id}.sync")
}

fn require_owner(session: &Session, what: &str) -> Result<()> {
    if session.role().can_manage_staff() {
        Ok(())
    } else {
        Err(StoreError::Forbidden {
            message: format!("Only the owner may {what}"),
        })
    }
}

impl Store {
    /// The current pairing, if this counter is paired.
    pub async fn pairing(&self) -> Result<Option<Pairing>> {
        let row = sqlx::query("SELECT * FROM sync_state WHERE id = 1 AND unpaired_at IS NULL")
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| {
            Ok(Pairing {
                server_url: r.get("server_url"),
                tenant_id: r
                    .get::<String, _>("tenant_id")
                    .parse()
                    .map_err(StoreError::corrupt)?,
                paired_at: parse_ts(&r.get::<String, _>("paired_at"))?,
                audit_acked_through: r.get::<i64, _>("audit_acked_through") as u64,
                pull_cursor: r.get("pull_cursor"),
                last_success_at: r
                    .get::<Option<String>, _>("last_success_at")
                    .map(|s| parse_ts(&s))
                    .transpose()?,
                clock_offset_ms: r.get("clock_offset_ms"),
                outbox_floor: r.get::<i64, _>("outbox_floor") as u64,
            })
        })
        .transpose()
    }

    /// Checks, before anything is sent, that `session` may pair this counter (the owner, on a
    /// counter not paired yet).
    pub(crate) async fn check_can_pair(&self, session: &Session) -> Result<()> {
        require_owner(session, "pair this counter")?;
        if self.pairing().await?.is_some() {
            return Err(StoreError::Conflict {
                code: "already_paired",
                message: "This counter is already paired; unpair it first".into(),
            });
        }
        Ok(())
    }

    /// Records a pairing the service accepted. A counter's history belongs to one shop: pairing
    /// it with a different shop than before is refused.
    pub(crate) async fn record_pairing(
        &self,
        session: &Session,
        server_url: &str,
        tenant_id: Uuid,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let before: Option<String> =
            sqlx::query_scalar("SELECT tenant_id FROM sync_state WHERE id = 1")
                .fetch_optional(tx.conn().await?)
                .await?;
        if let Some(b) = &before {
            if *b != tenant_id.to_string() {
                return Err(StoreError::Conflict {
                    code: "other_shop",
                    message: "This counter's orders belong to another shop on the service; it cannot be paired with this one".into(),
                });
            }
        }
        let now = self.now();
        sqlx::query(
            "INSERT INTO sync_state (id, server_url, tenant_id, paired_at) VALUES (1, ?, ?, ?)
             ON CONFLICT (id) DO UPDATE SET server_url = excluded.server_url, paired_at = excluded.paired_at, unpaired_at = NULL",
        )
        .bind(server_url)
        .bind(tenant_id.to_string())
        .bind(ts(&now))
        .execute(tx.conn().await?)
        .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Create,
                "device",
                Some(self.device_id.to_string()),
                "device.pair",
            )
            .detail(format!(
                "tenant={tenant_id} server={server_url} repaired={}",
                before.is_some()
            )),
        )
        .await?;
        tx.commit().await
    }

    /// Unpairs (owner only): the device secret leaves the keyring; queued mutations stay queued
    /// for when the counter is paired again with the same shop.
    pub async fn unpair(&self, session: &Session, keys: &dyn crate::KeyStore) -> Result<()> {
        require_owner(session, "unpair this counter")?;
        if self.pairing().await?.is_none() {
            return Err(StoreError::Conflict {
                code: "not_paired",
                message: "This counter is not paired".into(),
            });
        }
        let mut tx = self.begin_write().await?;
        let now = self.now();
        sqlx::query("UPDATE sync_state SET unpaired_at = ? WHERE id = 1")
            .bind(ts(&now))
            .execute(tx.conn().await?)
            .await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some((session.staff_id(), session.role())),
                AuditAction::Delete,
                "device",
                Some(self.device_id.to_string()),
                "device.unpair",
            ),
        )
        .await?;
        tx.commit().await?;
        keys.delete(&secret_id(self.device_id))?;
        Ok(())
    }

    /// The status bar's figures (the client adds online / syncing / last error).
    pub async fn sync_status(&self) -> Result<SyncStatus> {
        let p = self.pairing().await?;
        let floor = p.as_ref().map(|p| p.outbox_floor).unwrap_or(0) as i64;
        let pending: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE seq > ? AND state = 'pending'")
                .bind(floor)
                .fetch_one(&self.pool)
                .await?;
        let attention: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE state = 'needs_attention'")
                .fetch_one(&self.pool)
                .await?;
        let offset = p.as_ref().and_then(|p| p.clock_offset_ms);
        Ok(SyncStatus {
            paired: p.is_some(),
            server_url: p.as_ref().map(|p| p.server_url.clone()),
            online: None,
            syncing: false,
            pending: pending as u32,
            needs_attention: attention as u32,
            last_success_at: p.as_ref().and_then(|p| p.last_success_at),
            clock_offset_ms: offset,
            clock_drift_warning: offset.is_some_and(|o| o.abs() > CLOCK_DRIFT_WARNING_MS),
            last_error: None,
        })
    }

    /// The next mutations to push, oldest first, after `after_seq`: pending ones whose order
    /// has nothing needing attention (that order's later changes wait behind it).
    pub(crate) async fn next_push_batch(
        &self,
        after_seq: u64,
        limit: u32,
    ) -> Result<Vec<OutboxEntry>> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE seq > ? AND state = 'pending'
               AND NOT EXISTS (SELECT 1 FROM orders o WHERE o.id = outbox.order_id AND o.sync_attention > 0)
             ORDER BY seq LIMIT ?",
        )
        .bind(after_seq as i64)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| outbox::decode(&self.cipher, r))
            .collect()
    }

    /// Settles pushed mutations in one transaction: applied and duplicate ones are acked;
    /// rejected and conflicting ones move to needs-attention with the service's reason. Also
    /// records how far the service has stored the audit chain.
    pub(crate) async fn apply_push_results(
        &self,
        sent: &[OutboxEntry],
        resp: &PushResponse,
        clock_offset_ms: i64,
    ) -> Result<(Tally, Tally, Tally)> {
        let by_id: HashMap<Uuid, &OutboxEntry> =
            sent.iter().map(|e| (e.mutation.mutation_id, e)).collect();
        let (mut applied, mut duplicate, mut attention) =
            (Tally::default(), Tally::default(), Tally::default());
        let mut tx = self.begin_write().await?;
        let now = self.now();
        let mut refused = Vec::new();
        for r in &resp.results {
            let Some(e) = by_id.get(&r.mutation_id) else {
                continue;
            };
            let settled = match r.status {
                // waits behind an earlier change of its order: stays queued as it is
                MutationStatus::Skipped => continue,
                MutationStatus::Applied | MutationStatus::Duplicate => {
                    // the service has it now: the encrypted copy of the payload is dropped
                    sqlx::query("UPDATE outbox SET state = 'acked', acked_at = ?, attempts = attempts + 1, last_error = NULL, payload = X'' WHERE seq = ? AND state = 'pending'")
                        .bind(ts(&now))
                        .bind(e.seq as i64)
                        .execute(tx.conn().await?)
                        .await?
                        .rows_affected()
                }
                MutationStatus::Rejected | MutationStatus::Conflict => {
                    let state = r.current.as_ref().map(|c| c.to_string());
                    let code = r.code.clone().unwrap_or_else(|| match r.status {
                        MutationStatus::Conflict => "conflict".into(),
                        _ => "rejected".into(),
                    });
                    let reason = r
                        .reason
                        .clone()
                        .unwrap_or_else(|| "Refused by the service".into());
                    let n = mark_attention(&mut tx, e.seq, &reason, &code, state).await?;
                    if n == 1 {
                        refused.push(format!(
                            "{}:{}:{}",
                            e.mutation.body.kind(),
                            e.mutation.order_id,
                            code
                        ));
                    }
                    n
                }
            };
            if settled != 1 {
                continue;
            }
            let attention_now = matches!(
                r.status,
                MutationStatus::Rejected | MutationStatus::Conflict
            );
            sqlx::query("UPDATE orders SET unsynced = MAX(unsynced - 1, 0), sync_attention = sync_attention + ? WHERE id = ?")
                .bind(i64::from(attention_now))
                .bind(e.mutation.order_id.to_string())
                .execute(tx.conn().await?)
                .await?;
            if let Some(n) = &r.order_number {
                self.adopt_number(&mut tx, e.mutation.order_id, n, now)
                    .await?;
            }
            match r.status {
                MutationStatus::Applied => applied.add(&e.mutation),
                MutationStatus::Duplicate => duplicate.add(&e.mutation),
                _ => attention.add(&e.mutation),
            }
        }
        sqlx::query(
            "UPDATE sync_state SET audit_acked_through = MAX(audit_acked_through, ?), clock_offset_ms = ?,
                outbox_floor = COALESCE((SELECT MIN(seq) - 1 FROM outbox WHERE seq > sync_state.outbox_floor AND state = 'pending'),
                                        (SELECT COALESCE(MAX(seq), 0) FROM outbox))
             WHERE id = 1",
        )
        .bind(resp.audit.accepted_through as i64)
        .bind(clock_offset_ms)
        .execute(tx.conn().await?)
        .await?;
        if !refused.is_empty() {
            audit_needs_attention(&mut tx, self.device_id, now, refused.join(" ")).await?;
        }
        tx.commit().await?;
        Ok((applied, duplicate, attention))
    }

    /// Sets aside a mutation too large to send (`size` bytes of JSON against a push budget of
    /// `budget`): it goes to needs-attention as `too_large`, with its order's later changes
    /// waiting behind it, so the rest of the queue keeps flowing.
    pub(crate) async fn set_aside_too_large(
        &self,
        e: &OutboxEntry,
        size: usize,
        budget: usize,
    ) -> Result<()> {
        let mib = |b: usize| format!("{:.1} MB", b as f64 / 1_000_000.0);
        let reason = format!(
            "This change is too large to send ({}; at most {} per sync)",
            mib(size),
            mib(budget)
        );
        let now = self.now();
        let mut tx = self.begin_write().await?;
        if mark_attention(&mut tx, e.seq, &reason, "too_large", None).await? == 1 {
            sqlx::query("UPDATE orders SET unsynced = MAX(unsynced - 1, 0), sync_attention = sync_attention + 1 WHERE id = ?")
                .bind(e.mutation.order_id.to_string())
                .execute(tx.conn().await?)
                .await?;
            audit_needs_attention(
                &mut tx,
                self.device_id,
                now,
                format!(
                    "{}:{}:too_large bytes={size}",
                    e.mutation.body.kind(),
                    e.mutation.order_id
                ),
            )
            .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes in what changed centrally: the roster first (it is authoritative once paired),
    /// then other devices' payments, deletions and completions of orders this counter holds.
    /// One transaction, with an audit event per change; returns how many changes applied.
    pub(crate) async fn apply_pull(
        &self,
        resp: &PullResponse,
        clock_offset_ms: i64,
    ) -> Result<u32> {
        let mut tx = self.begin_write().await?;
        let now = self.now();
        let local: HashMap<String, (String, String, String, bool)> =
            sqlx::query("SELECT id, name, role, pin_hash, active FROM staff")
                .fetch_all(tx.conn().await?)
                .await?
                .iter()
                .map(|r| {
                    let active = r.get::<i64, _>("active") == 1;
                    (
                        r.get("id"),
                        (r.get("name"), r.get("role"), r.get("pin_hash"), active),
                    )
                })
                .collect();
        for st in &resp.roster {
            let id = st.id.to_string();
            let verifier = st.pin_verifier.clone().unwrap_or_default();
            // staff without a PIN (the office's e-mail-and-password users) are kept for the
            // records that name them, but cannot log in or approve at a counter
            let active = st.active && !verifier.is_empty();
            let wanted = (
                st.name.clone(),
                st.role.as_str().to_owned(),
                verifier,
                active,
            );
            if local.get(&id) == Some(&wanted) {
                continue;
            }
            let verifier = wanted.2;
            sqlx::query(
                "INSERT INTO staff (id, name, role, pin_hash, active, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)
                 ON CONFLICT (id) DO UPDATE SET name = excluded.name, role = excluded.role, pin_hash = excluded.pin_hash,
                     active = excluded.active, updated_at = excluded.updated_at",
            )
            .bind(&id)
            .bind(&st.name)
            .bind(st.role.as_str())
            .bind(&verifier)
            .bind(active)
            .bind(ts(&now))
            .bind(ts(&now))
            .execute(tx.conn().await?)
            .await?;
            audit::append(
                &mut tx,
                self.device_id,
                now,
                NewEvent::new(
                    None,
                    AuditAction::Update,
                    "staff",
                    Some(id.clone()),
                    "staff.roster_pulled",
                )
                .detail(format!("role={} active={active}", st.role.as_str())),
            )
            .await?;
        }
        // Every order the changes concern, as the service holds it now: this counter
        // converges to it (or defers it while changes of its own wait).
        let mut applied = 0u32;
        let mut reindex = Vec::new();
        for c in &resp.orders {
            let r = self.converge(&mut tx, c, now).await?;
            applied += u32::from(r.changed);
            reindex.extend(r.reindex);
        }
        sqlx::query("UPDATE sync_state SET pull_cursor = MAX(pull_cursor, ?), clock_offset_ms = ? WHERE id = 1")
            .bind(resp.next_cursor)
            .bind(clock_offset_ms)
            .execute(tx.conn().await?)
            .await?;
        // The shop's time zone, as the service keeps it: the business days of both agree.
        let mut config = self.require_config()?;
        let zone = resp
            .time_zone
            .as_deref()
            .and_then(|z| pos_domain::ShopZone::parse("time_zone", z).ok());
        let adopted = match zone {
            Some(z) if config.time_zone.as_deref() != Some(z.name()) => {
                let before = config.time_zone.replace(z.name().to_owned());
                sqlx::query("UPDATE settings SET value = ? WHERE key = 'shop'")
                    .bind(serde_json::to_string(&config).map_err(StoreError::corrupt)?)
                    .execute(tx.conn().await?)
                    .await?;
                audit::append(
                    &mut tx,
                    self.device_id,
                    now,
                    NewEvent::new(
                        None,
                        AuditAction::Update,
                        "settings",
                        None,
                        "settings.time_zone_pulled",
                    )
                    .fields(vec![FieldChange::new(
                        "shop",
                        "time_zone",
                        before.as_deref(),
                        Some(z.name()),
                    )]),
                )
                .await?;
                true
            }
            _ => false,
        };
        tx.commit().await?;
        if adopted {
            self.set_config(config);
        }
        self.reindex_converged(reindex).await?;
        Ok(applied)
    }

    pub(crate) async fn record_sync_success(&self, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE sync_state SET last_success_at = ? WHERE id = 1")
            .bind(ts(&at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Tallies of what is still queued (after `floor`) and what needs attention (decrypting
    /// those payloads).
    pub(crate) async fn open_tallies(&self, floor: u64) -> Result<(Tally, Tally)> {
        let rows = sqlx::query(
            "SELECT * FROM outbox WHERE seq > ? AND state = 'pending'
             UNION ALL SELECT * FROM outbox WHERE state = 'needs_attention'",
        )
        .bind(floor as i64)
        .fetch_all(&self.pool)
        .await?;
        let (mut pending, mut attention) = (Tally::default(), Tally::default());
        for r in &rows {
            let e = outbox::decode(&self.cipher, r)?;
            if e.state == "pending" {
                pending.add(&e.mutation)
            } else {
                attention.add(&e.mutation)
            }
        }
        Ok((pending, attention))
    }
}
