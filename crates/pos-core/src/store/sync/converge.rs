//! A counter converges to the service's state of every order it holds (issue 15, item 6):
//! edits, payments, reversals, deletions and completions made elsewhere, or — while changes of
//! its own to that order are still waiting — the order stays on the needs-attention list with
//! the service's state, and is brought to it once they are settled. Never a silent "complete"
//! while the two disagree.

use crate::audit::{self, NewEvent};
use crate::db::ts;
use crate::error::{Result, StoreError};
use crate::search_index::Searchable;
use crate::store::orders::record::{self, seal_customer};
use crate::store::Store;
use crate::write_tx::WriteTx;
use chrono::{DateTime, Utc};
use pos_domain::{Money, OrderId, OrderStatus, Standing};
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
    /// counter does not hold is left alone. Everything is checked before anything is written:
    /// what this counter cannot take in (the ledger's rules, or its own changes waiting) leaves
    /// the order deferred and unchanged, never a failed pull.
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
        let outstanding: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM outbox WHERE order_id = ? AND state IN ('pending', 'needs_attention')",
        )
        .bind(&ids)
        .fetch_one(tx.conn().await?)
        .await?;
        let waiting = outstanding > 0;
        // This counter's ledger: (id, amount, reverses, counts).
        let rows: Vec<(String, i64, Option<String>, bool)> = sqlx::query_as(
            "SELECT id, amount_minor, reverses, not_on_service_at IS NULL FROM payments WHERE order_id = ?",
        )
        .bind(&ids)
        .fetch_all(tx.conn().await?)
        .await?;
        let central_ids: HashSet<String> = c
            .payments
            .iter()
            .map(|p| p.payment.id.to_string())
            .collect();
        // Entries that count here once this convergence is done.
        let mut counting: Vec<pos_domain::ledger::Entry> = Vec::new();
        let mut set_aside: Vec<String> = Vec::new();
        let entry =
            |id: &str, amount: i64, reverses: Option<&str>| -> Result<pos_domain::ledger::Entry> {
                let parse = |s: &str| s.parse::<uuid::Uuid>().map_err(StoreError::corrupt);
                Ok(pos_domain::ledger::Entry {
                    id: parse(id)?.into(),
                    order_id: c.id,
                    amount: currency.from_minor(amount),
                    reverses: reverses.map(parse).transpose()?.map(Into::into),
                })
            };
        let known: HashSet<&str> = rows.iter().map(|r| r.0.as_str()).collect();
        for (id, amount, reverses, counts) in &rows {
            if !counts {
                continue;
            }
            if !waiting && !central_ids.contains(id) {
                // taken here, never on the service (its change was discarded): the record stays
                set_aside.push(id.clone());
                continue;
            }
            counting.push(entry(id, *amount, reverses.as_deref())?);
        }
        let total = if waiting {
            local.totals.total
        } else {
            c.totals.total
        };
        let paid_of = |entries: &[pos_domain::ledger::Entry]| -> Money {
            entries.iter().map(|e| e.amount).sum()
        };

        // The service's entries this counter lacks, oldest first, each under the ledger's rule.
        let mut plan: Vec<&pos_protocol::CentralPayment> = Vec::new();
        for cp in &c.payments {
            let p = &cp.payment;
            if known.contains(p.id.to_string().as_str()) {
                continue;
            }
            let checked = match p.reverses {
                Some(r) => {
                    let original = counting.iter().find(|e| e.id == r).copied();
                    let reversed = counting.iter().any(|e| e.reverses == Some(r));
                    pos_domain::ledger::reversal(
                        currency,
                        c.id,
                        original.as_ref(),
                        reversed,
                        cp.approval.as_ref().map(|a| a.approver_role),
                        Some(p.amount.amount()),
                    )
                }
                // the service took it: only its exactness is this counter's to check, and the
                // balance while this counter's own changes still wait
                None if waiting => pos_domain::ledger::payment(
                    currency,
                    "amount",
                    p.amount.amount(),
                    paid_of(&counting),
                    total,
                ),
                None => currency
                    .check("amount", p.amount.amount())
                    .map_err(Into::into),
            };
            match checked {
                Ok(amount) => {
                    counting.push(pos_domain::ledger::Entry {
                        id: p.id,
                        order_id: c.id,
                        amount,
                        reverses: p.reverses,
                    });
                    plan.push(cp);
                }
                Err(e) => {
                    tracing::warn!(order = %ids, code = e.code(), "a change made on the service does not fit this counter's copy of the order yet");
                    out.deferred = true;
                }
            }
        }
        let paid = paid_of(&counting);
        let edited = local.version != c.version
            || local.customer != c.customer
            || local.items != c.items
            || local.totals != c.totals
            || local.notes != c.notes;
        let take_edit = edited && !waiting;
        if edited && waiting {
            out.deferred = true;
        }
        let order_total = if take_edit {
            c.totals.total
        } else {
            local.totals.total
        };
        // Deletion and completion as the service decided them (a deletion only once the money
        // is out of the order here too; an order this counter deleted comes back if the service
        // never took the deletion).
        let mut deletion = local.deleted.is_some();
        let mut set_deletion = None;
        let mut clear_deletion = false;
        match (&local.deleted, &c.deletion) {
            (None, Some(d)) if paid.is_zero() => {
                deletion = true;
                set_deletion = Some(d);
            }
            (None, Some(_)) => out.deferred = true,
            (Some(_), None) if !waiting => {
                deletion = false;
                clear_deletion = true;
            }
            _ => {}
        }
        if !waiting && paid != c.paid {
            // the two ledgers should now sum alike; if not, this counter's copy is not whole
            out.deferred = true;
        }
        if paid < Money::ZERO || paid > order_total || (deletion && !paid.is_zero()) {
            // never write a state the rules forbid: leave the order as it is, deferred
            tracing::warn!(order = %ids, "the service's state of this order does not fit this counter's copy; left for later");
            return self.defer(tx, c, &ids, true).await.map(|_| Converged {
                deferred: true,
                ..Converged::default()
            });
        }
        let completed_at = local.completed_at.or(c.completed_at);
        let status = OrderStatus::of(Standing {
            paid,
            total: order_total,
            handed_over: completed_at.is_some(),
            deleted: deletion,
        });

        // Write.
        let mut fields = Vec::new();
        if self.adopt_number(tx, c.id, &c.order_number, now).await? {
            out.changed = true;
        }
        for pid in &set_aside {
            sqlx::query("UPDATE payments SET not_on_service_at = ? WHERE order_id = ? AND id = ?")
                .bind(ts(&now))
                .bind(&ids)
                .bind(pid)
                .execute(tx.conn().await?)
                .await?;
            fields.push(FieldChange::new(
                pid,
                "on_service",
                Some("true"),
                Some("false"),
            ));
        }
        for cp in &plan {
            let p = &cp.payment;
            let pid = p.id.to_string();
            let approval = cp.approval.as_ref().filter(|_| p.reverses.is_some());
            let amount = p.amount;
            let mut q = sqlx::QueryBuilder::new("");
            crate::store::orders::rows::push_payment_insert(
                &mut q,
                &self.cipher,
                p,
                approval,
                currency,
                now,
            );
            q.build().execute(tx.conn().await?).await?;
            fields.push(FieldChange::new(
                &pid,
                "amount",
                None,
                Some(&amount.to_string()),
            ));
        }
        if local.paid != paid {
            fields.push(FieldChange::new(
                &ids,
                "paid",
                Some(&local.paid.to_string()),
                Some(&paid.to_string()),
            ));
        }
        if take_edit {
            let config = self.require_config()?;
            let sealed = seal_customer(
                &self.cipher,
                &ids,
                &c.customer,
                c.notes.as_deref(),
                &config.phone_country_code,
            )?;
            // totals and the paid amount in one statement: the row's checks hold throughout
            sqlx::query(
                "UPDATE orders SET customer_name = ?, customer_phone = ?, customer_email = ?, customer_address = ?,
                    notes = ?, phone_index = ?, email_index = ?, items = ?, schedule = ?,
                    subtotal_minor = ?, discount_minor = ?, total_minor = ?, version = ?, paid_minor = ?
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
            .bind(paid.to_minor(currency))
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
        if let Some(d) = set_deletion {
            let mut q = sqlx::QueryBuilder::new("");
            crate::store::orders::rows::push_deletion(
                &mut q,
                &self.cipher,
                &ids,
                &crate::store::orders::rows::Deletion {
                    at: d.deleted_at,
                    by: d.deleted_by,
                    reason: &d.approval.reason,
                    approver: d.approval.approver_id,
                    approver_role: d.approval.approver_role,
                    approved_at: d.approval.approved_at,
                },
            );
            q.push(" WHERE id = ").push_bind(&ids);
            q.build().execute(tx.conn().await?).await?;
        }
        if clear_deletion {
            sqlx::query(
                "UPDATE orders SET deleted_at = NULL, deleted_by = NULL, delete_reason = NULL, approved_by = NULL, approver_role = NULL, approved_at = NULL WHERE id = ?",
            )
            .bind(&ids)
            .execute(tx.conn().await?)
            .await?;
        }
        if local.completed_at.is_none() {
            if let Some(at) = completed_at {
                fields.push(FieldChange::new(&ids, "completed_at", None, Some(&ts(&at))));
            }
        }
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
                    if take_edit { c.version } else { local.version },
                    plan.len()
                ))
                .fields(fields),
            )
            .await?;
            out.changed = true;
        }
        self.defer(tx, c, &ids, out.deferred).await?;
        Ok(out)
    }

    /// Keeps an order on (or takes it off) the list of orders to ask the service for again;
    /// a deferred order's needs-attention items show the service's state.
    async fn defer(
        &self,
        tx: &mut WriteTx<'_>,
        c: &CentralOrder,
        ids: &str,
        deferred: bool,
    ) -> Result<()> {
        if deferred {
            let state = serde_json::json!({
                "status": c.status.as_str(),
                "version": c.version,
                "total": c.totals.total,
                "paid": c.paid,
            })
            .to_string();
            sqlx::query("UPDATE outbox SET server_state = ? WHERE order_id = ? AND state = 'needs_attention'")
                .bind(state)
                .bind(ids)
                .execute(tx.conn().await?)
                .await?;
            sqlx::query("INSERT OR IGNORE INTO pull_deferred (order_id) VALUES (?)")
                .bind(ids)
                .execute(tx.conn().await?)
                .await?;
        } else {
            sqlx::query("DELETE FROM pull_deferred WHERE order_id = ?")
                .bind(ids)
                .execute(tx.conn().await?)
                .await?;
        }
        Ok(())
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
