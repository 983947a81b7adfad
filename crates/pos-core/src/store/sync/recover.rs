//! A store restored from a backup of a paired counter takes back what the counter recorded
//! after the backup and synced (see [`crate::SyncClient::recover`]): its audit events on the
//! service, which continue its own chain, and the orders its later changes concern.

use crate::audit::{self, NewEvent};
use crate::db::ts;
use crate::error::{Result, StoreError};
use crate::store::orders::record::{self, seal_customer};
use crate::store::Store;
use pos_protocol::{AuditAction, AuditEvent, RecoveredOrder, GENESIS_HASH};
use sqlx::Row;

impl Store {
    /// The sequence number of this store's newest audit event (0 for none).
    pub(crate) async fn audit_head(&self) -> Result<u64> {
        let head: Option<i64> = sqlx::query_scalar("SELECT MAX(seq) FROM audit_events")
            .fetch_one(&self.pool)
            .await?;
        Ok(head.unwrap_or(0) as u64)
    }

    /// Appends the service's copies of this device's events after this store's newest: they
    /// must continue its chain exactly (else the backup is not of the chain the service holds,
    /// and nothing is written). Marks them as already on the service.
    pub(crate) async fn adopt_audit(&self, events: &[AuditEvent]) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let (seq, hash) = match tx.heads.audit.clone() {
            Some(h) => h,
            None => sqlx::query("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1")
                .fetch_optional(tx.conn().await?)
                .await?
                .map(|r| (r.get::<i64, _>("seq") as u64, r.get::<String, _>("hash")))
                .unwrap_or((0, GENESIS_HASH.to_owned())),
        };
        let newer: Vec<AuditEvent> = events.iter().filter(|e| e.seq > seq).cloned().collect();
        let Some(last) = newer.last() else {
            return Ok(());
        };
        if newer.iter().any(|e| e.device_id != self.device_id) {
            return Err(crate::error::BackupError::ChainMismatch.into());
        }
        pos_protocol::verify_chain(&newer, seq, &hash)
            .map_err(|_| crate::error::BackupError::ChainMismatch)?;
        let (last_seq, last_hash) = (last.seq, last.hash.clone());
        sqlx::query(
            "UPDATE sync_state SET audit_acked_through = MAX(audit_acked_through, ?) WHERE id = 1",
        )
        .bind(last_seq as i64)
        .execute(tx.conn().await?)
        .await?;
        tx.audit_rows.extend(newer);
        tx.heads.audit = Some((last_seq, last_hash));
        tx.commit().await?;
        Ok(())
    }

    /// Takes in orders this counter recorded after its backup: one it does not hold is written
    /// as the service has it (then its ledger, deletion and completion converge as at a pull);
    /// one it holds converges. Returns how many it did not hold.
    pub(crate) async fn recover_orders(&self, orders: &[RecoveredOrder]) -> Result<u32> {
        let config = self.require_config()?;
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let mut taken = 0u32;
        for r in orders {
            let o = &r.order;
            let ids = o.id.to_string();
            let held: Option<i64> = sqlx::query_scalar("SELECT 1 FROM orders WHERE id = ?")
                .bind(&ids)
                .fetch_optional(tx.conn().await?)
                .await?;
            if held.is_none() {
                let currency = config.currency;
                if o.totals.total.to_minor(currency) < 0 {
                    return Err(StoreError::corrupt("a recovered order's total"));
                }
                let sealed = seal_customer(
                    &self.cipher,
                    &ids,
                    &o.customer,
                    o.notes.as_deref(),
                    &config.phone_country_code,
                )?;
                let hlc = self.next_hlc(now);
                // As the service holds it, with nothing paid yet: the ledger follows below.
                sqlx::query(
                    "INSERT INTO orders (id, order_number, channel, status, currency, customer_name, customer_phone,
                        customer_email, customer_address, notes, phone_index, email_index, items, schedule,
                        subtotal_minor, discount_minor, total_minor, paid_minor, terms, business_date,
                        recorded_by, last_modified_by, created_at, updated_at, version, hlc, counter_number)
                     VALUES (?, ?, ?, 'pending', ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                )
                .bind(&ids)
                .bind(&o.order_number)
                .bind(r.channel.as_str())
                .bind(currency.code())
                .bind(&sealed.name)
                .bind(&sealed.phone)
                .bind(&sealed.email)
                .bind(&sealed.address)
                .bind(&sealed.notes)
                .bind(&sealed.phone_index)
                .bind(&sealed.email_index)
                .bind(record::items_json(&o.items, currency)?)
                .bind(record::schedule_json(&o.schedule, currency)?)
                .bind(o.totals.subtotal.to_minor(currency))
                .bind(o.totals.discount.to_minor(currency))
                .bind(o.totals.total.to_minor(currency))
                .bind(serde_json::to_string(&r.payment_terms).map_err(StoreError::corrupt)?)
                .bind(r.business_date.to_string())
                .bind(r.recorded_by.to_string())
                .bind(r.last_modified_by.to_string())
                .bind(ts(&r.created_at))
                .bind(ts(&now))
                .bind(i64::from(o.version))
                .bind(hlc.to_string())
                .bind(&r.counter_number)
                .execute(tx.conn().await?)
                .await?;
                audit::append(
                    &mut tx,
                    self.device_id,
                    now,
                    NewEvent::new(
                        None,
                        AuditAction::Create,
                        "order",
                        Some(ids.clone()),
                        "order.recovered",
                    )
                    .detail(o.order_number.clone()),
                )
                .await?;
                taken += 1;
            }
            self.converge(&mut tx, o, now).await?;
        }
        tx.commit().await?;
        // The customer search index is built again on its next use, with these orders in it.
        *self.search.lock().await = None;
        Ok(taken)
    }
}
