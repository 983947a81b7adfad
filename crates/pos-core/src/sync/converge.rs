//! A counter converges to the service's state of every order it holds (issue 15, item 6):
//! edits, payments, reversals, deletions and completions made elsewhere, or — while changes of
//! its own to that order are still waiting — the order stays on the needs-attention list with
//! the service's state, and is brought to it once they are settled. Never a silent "complete"
//! while the two disagree.

use crate::audit::{self, NewEvent};
use crate::db::ts;
use crate::error::{Result, StoreError};
use crate::orders::record::{self, seal_customer};
use crate::search_index::Searchable;
use crate::store::Store;
use crate::write_tx::WriteTx;
use chrono::{DateTime, Utc};
use pos_domain::{Money, OrderId, OrderStatus};
use pos_protocol::{AuditAction, CentralOrder, FieldChange};
use std::collections::HashSet;

/// What converging one order did.
#[derive(Debug, Default)]
pub(crate) struct Converged {
    /// Something of the order changed here.
    pub changed: bool,
    /// Not all of it could be taken in (changes of this counter wait); asked for again later.
    pub deferred: bool,
    /// The customer changed: the search index is updated after the commit.
    pub reindex: Option<(OrderId, pos_domain::Customer, pos_domain::Customer)>,
}

impl Store {
    /// Brings this counter's copy of `c` to the service's state, inside `tx`. An order this
    /// counter does not hold is left alone.
    pub(crate) async fn converge(
        &self,
        tx: &mut WriteTx<'_>,
        c: &CentralOrder,
        now: DateTime<Utc>,
    ) -> Result<Converged> {
        let mut out = Converged::default();
        let Some(local) = record::load_order(tx.conn().await?, &self.cipher, c.id).await? else {
            return Ok(out);
        };
        let ids = c.id.to_string();
        let currency = local.currency;
        if self.adopt_number(tx, c.id, &c.order_number, now).await? {
            out.changed = true;
        }
        let outstanding: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE order_id = ? AND state IN ('pending', 'needs_attention')",
        )
        .bind(&ids)
        .fetch_one(tx.conn().await?)
        .await?;
        let waiting = outstanding > 0;
        let known: HashSet<String> =
            sqlx::query_scalar("SELECT id FROM payments WHERE order_id = ?")
                .bind(&ids)
                .fetch_all(tx.conn().await?)
                .await?
                .into_iter()
                .collect();
        let mut inserted: HashSet<String> = HashSet::new();
        let mut fields = Vec::new();
        let mut paid = local.paid;
        let total = if waiting {
            local.totals.total
        } else {
            c.totals.total
        };

        // The ledger: the service's entries this counter lacks, oldest first.
        for cp in &c.payments {
            let p = &cp.payment;
            let pid = p.id.to_string();
            if known.contains(&pid) {
                continue;
            }
            let amount = currency.check("amount", p.amount.abs())?;
            let amount = if p.amount.is_sign_negative() {
                Money(-amount.0)
            } else {
                amount
            };
            let fits = match p.reverses {
                Some(r) => {
                    let r = r.to_string();
                    (known.contains(&r) || inserted.contains(&r)) && cp.approval.is_some()
                }
                None => !waiting || paid + amount <= total,
            };
            if !fits {
                out.deferred = true;
                continue;
            }
            let approval = cp.approval.as_ref().filter(|_| p.reverses.is_some());
            let reason = approval.map(|a| {
                self.cipher.encrypt_str(
                    &a.reason,
                    crate::crypto::Aad {
                        table: "payments",
                        record_id: &pid,
                        field: "approval_reason",
                    },
                )
            });
            sqlx::query(
                "INSERT INTO payments (id, order_id, amount_minor, method, paid_at, recorded_by, reference,
                    reverses, approved_by, approver_role, approval_reason, approved_at, created_at)
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            )
            .bind(&pid)
            .bind(&ids)
            .bind(amount.to_minor(currency))
            .bind(p.method.as_str())
            .bind(ts(&p.paid_at))
            .bind(p.recorded_by.to_string())
            .bind(&p.reference)
            .bind(p.reverses.map(|r| r.to_string()))
            .bind(approval.map(|a| a.approver_id.to_string()))
            .bind(approval.map(|a| a.approver_role.as_str()))
            .bind(reason)
            .bind(approval.map(|a| ts(&a.approved_at)))
            .bind(ts(&now))
            .execute(tx.conn().await?)
            .await?;
            inserted.insert(pid.clone());
            paid = paid + amount;
            fields.push(FieldChange::new(
                &pid,
                "amount",
                None,
                Some(&amount.to_string()),
            ));
        }

        // The editable state: taken whole when nothing of this counter's waits; otherwise the
        // counter's pending edit stands until it is settled.
        let edited = local.version != c.version
            || local.customer != c.customer
            || local.items != c.items
            || local.totals != c.totals
            || local.notes != c.notes;
        if edited && waiting {
            out.deferred = true;
        }
        if !waiting {
            // Payments of this counter the service does not hold (refused, then discarded here)
            // stay as the record, marked; the paid amount is the service's.
            let central: HashSet<String> = c
                .payments
                .iter()
                .map(|p| p.payment.id.to_string())
                .collect();
            for pid in known.iter().filter(|p| !central.contains(*p)) {
                let n = sqlx::query(
                    "UPDATE payments SET not_on_service_at = ? WHERE order_id = ? AND id = ? AND not_on_service_at IS NULL",
                )
                .bind(ts(&now))
                .bind(&ids)
                .bind(pid)
                .execute(tx.conn().await?)
                .await?
                .rows_affected();
                if n == 1 {
                    fields.push(FieldChange::new(
                        pid,
                        "on_service",
                        Some("true"),
                        Some("false"),
                    ));
                }
            }
            paid = currency.check("paid", c.paid)?;
            if local.paid != paid {
                fields.push(FieldChange::new(
                    &ids,
                    "paid",
                    Some(&local.paid.to_string()),
                    Some(&paid.to_string()),
                ));
            }
        }
        if edited && !waiting {
            let config = self.require_config()?;
            let sealed = seal_customer(
                &self.cipher,
                &ids,
                &c.customer,
                c.notes.as_deref(),
                &config.phone_country_code,
            )?;
            sqlx::query(
                "UPDATE orders SET customer_name = ?, customer_phone = ?, customer_email = ?, customer_address = ?,
                    notes = ?, phone_index = ?, email_index = ?, items = ?, schedule = ?,
                    subtotal_minor = ?, discount_minor = ?, total_minor = ?, version = ?
                 WHERE id = ?",
            )
            .bind(&sealed.name)
            .bind(&sealed.phone)
            .bind(&sealed.email)
            .bind(&sealed.address)
            .bind(&sealed.notes)
            .bind(&sealed.phone_index)
            .bind(&sealed.email_index)
            .bind(record::items_json(&c.items, currency)?)
            .bind(record::schedule_json(&c.schedule, currency)?)
            .bind(c.totals.subtotal.to_minor(currency))
            .bind(c.totals.discount.to_minor(currency))
            .bind(c.totals.total.to_minor(currency))
            .bind(i64::from(c.version))
            .bind(&ids)
            .execute(tx.conn().await?)
            .await?;
            fields.push(FieldChange::new(
                &ids,
                "version",
                Some(&local.version.to_string()),
                Some(&c.version.to_string()),
            ));
            if local.totals.total != c.totals.total {
                fields.push(FieldChange::new(
                    &ids,
                    "total",
                    Some(&local.totals.total.to_string()),
                    Some(&c.totals.total.to_string()),
                ));
            }
            if local.customer != c.customer {
                out.reindex = Some((c.id, local.customer.clone(), c.customer.clone()));
            }
        }

        // Completion and deletion, as the service decided them.
        let mut completed = local.completed_at.is_some();
        let completed_at = match (local.completed_at, c.completed_at) {
            (None, Some(at)) => {
                completed = true;
                fields.push(FieldChange::new(&ids, "completed_at", None, Some(&ts(&at))));
                Some(at)
            }
            (at, _) => at,
        };
        let mut deleted = local.deleted.is_some();
        if let (None, Some(d)) = (&local.deleted, &c.deletion) {
            if paid.0.is_zero() {
                deleted = true;
                let reason = self
                    .cipher
                    .encrypt_str(&d.approval.reason, record::aad(&ids, "delete_reason"));
                sqlx::query(
                    "UPDATE orders SET deleted_at = ?, deleted_by = ?, delete_reason = ?, approved_by = ?, approver_role = ?, approved_at = ? WHERE id = ?",
                )
                .bind(ts(&d.deleted_at))
                .bind(d.deleted_by.to_string())
                .bind(reason)
                .bind(d.approval.approver_id.to_string())
                .bind(d.approval.approver_role.as_str())
                .bind(ts(&d.approval.approved_at))
                .bind(&ids)
                .execute(tx.conn().await?)
                .await?;
            } else {
                // the service refunded before it deleted; this counter has not all of it yet
                out.deferred = true;
            }
        }
        let order_total = if edited && !waiting {
            c.totals.total
        } else {
            local.totals.total
        };
        let status = OrderStatus::derive(deleted, completed, paid == order_total);
        if status != local.status {
            fields.push(FieldChange::new(
                &ids,
                "status",
                Some(local.status.as_str()),
                Some(status.as_str()),
            ));
        }
        if !fields.is_empty() {
            sqlx::query(
                "UPDATE orders SET paid_minor = ?, status = ?, completed_at = ?, updated_at = ? WHERE id = ?",
            )
            .bind(paid.to_minor(currency))
            .bind(status.as_str())
            .bind(completed_at.as_ref().map(ts))
            .bind(ts(&now))
            .bind(&ids)
            .execute(tx.conn().await?)
            .await?;
            audit::append(
                tx,
                self.device_id,
                now,
                NewEvent::new(
                    None,
                    AuditAction::Update,
                    "order",
                    Some(ids.clone()),
                    "order.converged",
                )
                .detail(format!(
                    "version {} -> {} payments+{}",
                    local.version,
                    if edited && !waiting {
                        c.version
                    } else {
                        local.version
                    },
                    inserted.len()
                ))
                .fields(fields),
            )
            .await?;
            out.changed = true;
        }
        if out.deferred {
            // The needs-attention list shows the service's state next to this counter's change.
            let state = serde_json::json!({
                "status": c.status.as_str(),
                "version": c.version,
                "total": c.totals.total,
                "paid": pos_domain::Money(c.paid),
            })
            .to_string();
            sqlx::query("UPDATE outbox SET server_state = ? WHERE order_id = ? AND state = 'needs_attention'")
                .bind(state)
                .bind(&ids)
                .execute(tx.conn().await?)
                .await?;
            sqlx::query("INSERT OR IGNORE INTO pull_deferred (order_id) VALUES (?)")
                .bind(&ids)
                .execute(tx.conn().await?)
                .await?;
        } else {
            sqlx::query("DELETE FROM pull_deferred WHERE order_id = ?")
                .bind(&ids)
                .execute(tx.conn().await?)
                .await?;
        }
        Ok(out)
    }

    /// Adopts the number the service gave order `id` (when it is not the one this counter
    /// gave): the counter's own is kept as `counter_number`, the reference on the receipt.
    pub(crate) async fn adopt_number(
        &self,
        tx: &mut WriteTx<'_>,
        id: OrderId,
        number: &str,
        now: DateTime<Utc>,
    ) -> Result<bool> {
        let ids = id.to_string();
        let old: Option<String> =
            sqlx::query_scalar("SELECT order_number FROM orders WHERE id = ?")
                .bind(&ids)
                .fetch_optional(tx.conn().await?)
                .await?;
        let Some(old) = old.filter(|o| o != number) else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE orders SET counter_number = COALESCE(counter_number, order_number), order_number = ? WHERE id = ?",
        )
        .bind(number)
        .bind(&ids)
        .execute(tx.conn().await?)
        .await?;
        audit::append(
            tx,
            self.device_id,
            now,
            NewEvent::new(
                None,
                AuditAction::Update,
                "order",
                Some(ids.clone()),
                "order.renumbered",
            )
            .fields(vec![FieldChange::new(
                &ids,
                "order_number",
                Some(&old),
                Some(number),
            )]),
        )
        .await?;
        Ok(true)
    }

    /// Takes in the service's time seen at a sync: this counter's hybrid logical clock moves
    /// past it (and remembers it across restarts), so later changes here order after it.
    pub(crate) async fn observe_server_time(&self, server: DateTime<Utc>) -> Result<()> {
        let seen = {
            let mut h = match self.hlc.lock() {
                Ok(h) => h,
                Err(p) => p.into_inner(),
            };
            *h = h.receive(
                pos_domain::Hlc {
                    wall_ms: server.timestamp_millis(),
                    counter: 0,
                },
                self.now().timestamp_millis(),
            );
            *h
        };
        sqlx::query("UPDATE sync_state SET hlc_seen = ? WHERE id = 1")
            .bind(seen.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Updates the search index after a converged order's customer changed (after commit).
    pub(crate) async fn reindex_converged(
        &self,
        changes: Vec<(OrderId, pos_domain::Customer, pos_domain::Customer)>,
    ) -> Result<()> {
        let config = self.require_config()?;
        for (id, old, new) in changes {
            let (op, oe) = record::blind_indexes(&self.cipher, &old, &config.phone_country_code)?;
            let (np, ne) = record::blind_indexes(&self.cipher, &new, &config.phone_country_code)?;
            self.index_order(
                id,
                Some(Searchable {
                    name: &old.name,
                    phone_index: op.as_deref(),
                    email_index: oe.as_deref(),
                }),
                Searchable {
                    name: &new.name,
                    phone_index: np.as_deref(),
                    email_index: ne.as_deref(),
                },
            )
            .await;
        }
        Ok(())
    }

    /// How many orders here differ from the service's (deferred at a pull).
    pub(crate) async fn diverging_orders(&self) -> Result<u32> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM pull_deferred")
            .fetch_one(&self.pool)
            .await?;
        Ok(u32::try_from(n).unwrap_or(u32::MAX))
    }

    /// Orders deferred at an earlier pull whose own changes are all settled now: the ones to
    /// ask the service for again (at most `limit`).
    pub(crate) async fn deferred_orders_to_converge(&self, limit: usize) -> Result<Vec<OrderId>> {
        let ids: Vec<String> = sqlx::query_scalar(
            "SELECT d.order_id FROM pull_deferred d
             WHERE NOT EXISTS (SELECT 1 FROM outbox o WHERE o.order_id = d.order_id AND o.state IN ('pending', 'needs_attention'))
             ORDER BY d.order_id LIMIT ?",
        )
        .bind(limit as i64)
        .fetch_all(&self.pool)
        .await?;
        ids.iter()
            .map(|s| {
                s.parse::<uuid::Uuid>()
                    .map(OrderId::from)
                    .map_err(StoreError::corrupt)
            })
            .collect()
    }

    /// Converges the orders the service sent back for the deferred ones; those it does not
    /// hold (never reached it) leave the deferred list. Returns how many changed here.
    pub(crate) async fn converge_deferred(
        &self,
        asked: &[OrderId],
        orders: &[CentralOrder],
    ) -> Result<u32> {
        let now = self.now();
        let mut tx = self.begin_write().await?;
        let mut changed = 0;
        let mut reindex = Vec::new();
        for c in orders {
            let r = self.converge(&mut tx, c, now).await?;
            changed += u32::from(r.changed);
            reindex.extend(r.reindex);
        }
        let held: HashSet<OrderId> = orders.iter().map(|c| c.id).collect();
        for id in asked.iter().filter(|id| !held.contains(id)) {
            sqlx::query("DELETE FROM pull_deferred WHERE order_id = ?")
                .bind(id.to_string())
                .execute(tx.conn().await?)
                .await?;
        }
        tx.commit().await?;
        self.reindex_converged(reindex).await?;
        Ok(changed)
    }
}
