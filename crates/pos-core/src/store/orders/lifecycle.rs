use super::record::{self, seal_customer, OrderDetail};
use super::{validate_reason, OrderEdit};
use crate::audit::{self, NewEvent};
use crate::db::ts;
use crate::error::{Result, StoreError};
use crate::outbox;
use crate::search_index::Searchable;
use crate::session::Session;
use crate::store::staff::ApprovalInput;
use crate::store::Store;
use pos_domain::{OrderId, OrderStatus, PaymentId};
use pos_protocol::{Approval, AuditAction, FieldChange, MutationBody};
use sqlx::Row;

impl Store {
    /// Changes the customer details, items, discount or notes of an order at
    /// `expected_version`. The total may not fall below what was paid; the unpaid part of the
    /// schedule is regenerated; the version goes up by one.
    pub async fn update_order(
        &self,
        session: &Session,
        order_id: OrderId,
        expected_version: u32,
        edit: OrderEdit,
    ) -> Result<OrderDetail> {
        let config = self.require_config()?;
        let now = self.now();
        let today = config.business_date(now);
        let mut tx = self.begin_write().await?;
        let order = record::load_order(tx.conn().await?, &self.cipher, order_id)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        if order.deleted.is_some() {
            return Err(StoreError::Conflict {
                code: "order_deleted",
                message: format!(
                    "Order {} is deleted and cannot be edited",
                    order.order_number
                ),
            });
        }
        if order.version != expected_version {
            return Err(StoreError::StaleVersion {
                current: order.version,
            });
        }
        let currency = order.currency;
        let ids = order_id.to_string();
        let before = pos_domain::edit::Content {
            customer: order.customer.clone(),
            notes: order.notes.clone(),
            items: order.items.clone(),
            totals: order.totals,
            schedule: order.schedule.clone(),
        };
        let edited = pos_domain::edit::apply(
            pos_domain::edit::Current {
                content: &before,
                channel: order.channel,
                currency,
                paid: order.paid,
                completed: order.completed_at.is_some(),
            },
            edit,
        )?;
        if edited.changes.is_empty() {
            // Nothing changed: no new version, but the look is still a read.
            drop(tx);
            return self.get_order(session, order_id).await;
        }
        let fields = FieldChange::of_edit(&ids, &edited.changes);
        let status = edited.status;
        let pos_domain::edit::Content {
            customer,
            notes,
            items,
            totals,
            schedule,
        } = edited.content;

        let sealed = seal_customer(
            &self.cipher,
            &ids,
            &customer,
            notes.as_deref(),
            &config.phone_country_code,
        )?;
        let version = order.version + 1;
        let hlc = self.next_hlc(now);
        sqlx::query(
            "UPDATE orders SET customer_name = ?, customer_phone = ?, customer_email = ?, customer_address = ?,
                notes = ?, phone_index = ?, email_index = ?, items = ?, schedule = ?,
                subtotal_minor = ?, discount_minor = ?,
                total_minor = ?, status = ?, last_modified_by = ?, updated_at = ?, version = ?, hlc = ?
             WHERE id = ? AND version = ?",
        )
        .bind(&sealed.name)
        .bind(&sealed.phone)
        .bind(&sealed.email)
        .bind(&sealed.address)
        .bind(&sealed.notes)
        .bind(&sealed.phone_index)
        .bind(&sealed.email_index)
        .bind(record::items_json(&items, currency)?)
        .bind(record::schedule_json(&schedule, currency)?)
        .bind(totals.subtotal.to_minor(currency))
        .bind(totals.discount.to_minor(currency))
        .bind(totals.total.to_minor(currency))
        .bind(status.as_str())
        .bind(session.staff_id().to_string())
        .bind(ts(&now))
        .bind(i64::from(version))
        .bind(hlc.to_string())
        .bind(&ids)
        .bind(i64::from(order.version))
        .execute(tx.conn().await?)
        .await?;
        let actor = (session.staff_id(), session.role());
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some(actor),
                AuditAction::Update,
                "order",
                Some(ids.clone()),
                "order.update",
            )
            .detail(format!("version {} -> {version}", order.version))
            .fields(fields),
        )
        .await?;
        outbox::append(
            &mut tx,
            &self.cipher,
            self.device_id,
            hlc,
            now,
            actor,
            order_id,
            MutationBody::OrderUpdated {
                base_version: order.version,
                version,
                customer: customer.clone(),
                items,
                totals,
                notes,
                schedule,
            },
        )
        .await?;
        let detail = record::load_detail(tx.conn().await?, &self.cipher, order_id, today)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        tx.commit().await?;
        let (old_phone, old_email) =
            record::blind_indexes(&self.cipher, &order.customer, &config.phone_country_code)?;
        self.index_order(
            order_id,
            Some(Searchable {
                name: &order.customer.name,
                phone_index: old_phone.as_deref(),
                email_index: old_email.as_deref(),
            }),
            Searchable {
                name: &customer.name,
                phone_index: sealed.phone_index.as_deref(),
                email_index: sealed.email_index.as_deref(),
            },
        )
        .await;
        Ok(detail)
    }

    /// Marks a paid order as handed over.
    pub async fn complete_order(
        &self,
        session: &Session,
        order_id: OrderId,
    ) -> Result<OrderDetail> {
        let config = self.require_config()?;
        let now = self.now();
        let today = config.business_date(now);
        let mut tx = self.begin_write().await?;
        let order = record::load_order(tx.conn().await?, &self.cipher, order_id)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        match order.status {
            OrderStatus::Paid => {}
            OrderStatus::Completed => {
                return Err(StoreError::Conflict {
                    code: "already_completed",
                    message: format!("Order {} is already completed", order.order_number),
                })
            }
            OrderStatus::Deleted => {
                return Err(StoreError::Conflict {
                    code: "order_deleted",
                    message: format!("Order {} is deleted", order.order_number),
                })
            }
            OrderStatus::Pending => {
                return Err(StoreError::Conflict {
                    code: "balance_outstanding",
                    message: format!(
                        "Order {} still has {} to pay; it can be completed once paid",
                        order.order_number,
                        order.balance()
                    ),
                })
            }
        }
        let ids = order_id.to_string();
        sqlx::query("UPDATE orders SET status = 'completed', completed_at = ?, updated_at = ?, last_modified_by = ? WHERE id = ?")
            .bind(ts(&now))
            .bind(ts(&now))
            .bind(session.staff_id().to_string())
            .bind(&ids)
            .execute(tx.conn().await?)
            .await?;
        let actor = (session.staff_id(), session.role());
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some(actor),
                AuditAction::Update,
                "order",
                Some(ids.clone()),
                "order.complete",
            )
            .fields(vec![FieldChange::new(
                &ids,
                "status",
                Some("paid"),
                Some("completed"),
            )]),
        )
        .await?;
        let hlc = self.next_hlc(now);
        outbox::append(
            &mut tx,
            &self.cipher,
            self.device_id,
            hlc,
            now,
            actor,
            order_id,
            MutationBody::OrderCompleted { completed_at: now },
        )
        .await?;
        let detail = record::load_detail(tx.conn().await?, &self.cipher, order_id, today)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        tx.commit().await?;
        Ok(detail)
    }

    /// Soft-deletes an order with a reason. Owners and managers confirm themselves; a
    /// cashier needs `approval` (an owner's or manager's PIN), and without it gets
    /// [`StoreError::ApprovalRequired`]. The approval is stored with the deletion and audited.
    /// An order that still holds money is refused (`order_has_payments`): refund first, or use
    /// [`Store::refund_and_delete_order`].
    pub async fn delete_order(
        &self,
        session: &Session,
        order_id: OrderId,
        reason: &str,
        approval: Option<ApprovalInput>,
    ) -> Result<OrderDetail> {
        self.delete(session, order_id, reason, approval, false)
            .await
    }

    /// Refunds every payment still standing on the order (one reversing entry each) and
    /// deletes it, in one transaction and under one approval (as [`Store::delete_order`]):
    /// refund before delete, in one step for the cashier.
    pub async fn refund_and_delete_order(
        &self,
        session: &Session,
        order_id: OrderId,
        reason: &str,
        approval: Option<ApprovalInput>,
    ) -> Result<OrderDetail> {
        self.delete(session, order_id, reason, approval, true).await
    }

    async fn delete(
        &self,
        session: &Session,
        order_id: OrderId,
        reason: &str,
        approval: Option<ApprovalInput>,
        refund: bool,
    ) -> Result<OrderDetail> {
        let config = self.require_config()?;
        let reason = validate_reason(reason)?;
        {
            let mut conn = self.pool.acquire().await?;
            // Refused before anyone is asked for a PIN, and again inside the write below.
            let row: Option<(String, String, i64)> =
                sqlx::query_as("SELECT status, currency, paid_minor FROM orders WHERE id = ?")
                    .bind(order_id.to_string())
                    .fetch_optional(&mut *conn)
                    .await?;
            match row {
                None => return Err(StoreError::NotFound { entity: "order" }),
                Some((status, _, _)) if status == "deleted" => {
                    return Err(StoreError::Conflict {
                        code: "order_deleted",
                        message: "The order is already deleted".into(),
                    })
                }
                Some(_) if refund => {}
                Some((_, currency, paid)) => {
                    let currency: pos_domain::Currency =
                        currency.parse().map_err(StoreError::corrupt)?;
                    pos_domain::ledger::deletion(currency.from_minor(paid))?;
                }
            }
        }
        let (approver, approver_role) = self
            .resolve_approval(session, approval, "order.delete")
            .await?;
        let now = self.now();
        let today = config.business_date(now);
        let ids = order_id.to_string();
        let mut tx = self.begin_write().await?;
        let order = record::load_order(tx.conn().await?, &self.cipher, order_id)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        if order.deleted.is_some() {
            return Err(StoreError::Conflict {
                code: "order_deleted",
                message: "The order is already deleted".into(),
            });
        }
        let actor = (session.staff_id(), session.role());
        let mut paid = order.paid;
        if refund {
            let standing = sqlx::query(
                "SELECT id, amount_minor, method FROM payments p
                 WHERE order_id = ? AND reverses IS NULL AND not_on_service_at IS NULL
                   AND NOT EXISTS (SELECT 1 FROM payments r WHERE r.order_id = p.order_id AND r.reverses = p.id
                                       AND r.not_on_service_at IS NULL)
                 ORDER BY created_at, id",
            )
            .bind(&ids)
            .fetch_all(tx.conn().await?)
            .await?;
            for p in standing {
                let pid: PaymentId = p
                    .get::<String, _>("id")
                    .parse::<uuid::Uuid>()
                    .map_err(StoreError::corrupt)?
                    .into();
                let entry = pos_domain::ledger::Entry {
                    id: pid,
                    order_id,
                    amount: order.currency.from_minor(p.get("amount_minor")),
                    reverses: None,
                };
                let amount = self
                    .insert_reversal(
                        &mut tx,
                        session,
                        &order,
                        paid,
                        super::payments::Reversed {
                            original: Some(&entry),
                            already_reversed: false,
                            method: p
                                .get::<String, _>("method")
                                .parse()
                                .map_err(StoreError::corrupt)?,
                        },
                        (approver, approver_role),
                        &reason,
                        now,
                    )
                    .await?;
                paid = paid + amount;
            }
        }
        pos_domain::ledger::deletion(paid)?;
        let hlc = self.next_hlc(now);
        let mut q = sqlx::QueryBuilder::new("");
        super::rows::push_deletion(
            &mut q,
            &self.cipher,
            &ids,
            &super::rows::Deletion {
                at: now,
                by: session.staff_id(),
                reason: &reason,
                approver,
                approver_role,
                approved_at: now,
            },
        );
        q.push(", status = ")
            .push_bind(OrderStatus::Deleted.as_str())
            .push(", updated_at = ")
            .push_bind(ts(&now))
            .push(", last_modified_by = ")
            .push_bind(session.staff_id().to_string())
            .push(", hlc = ")
            .push_bind(hlc.to_string())
            .push(" WHERE id = ")
            .push_bind(&ids);
        q.build().execute(tx.conn().await?).await?;
        audit::append(
            &mut tx,
            self.device_id,
            now,
            NewEvent::new(
                Some(actor),
                AuditAction::Delete,
                "order",
                Some(ids.clone()),
                "order.delete",
            )
            .detail(format!("approved_by={approver} role={approver_role}"))
            .fields(vec![
                FieldChange::new(&ids, "status", Some(order.status.as_str()), Some("deleted")),
                FieldChange::new(&ids, "reason", None, Some(&reason)),
            ]),
        )
        .await?;
        outbox::append(
            &mut tx,
            &self.cipher,
            self.device_id,
            hlc,
            now,
            actor,
            order_id,
            MutationBody::OrderDeleted {
                approval: Approval {
                    approver_id: approver,
                    approver_role,
                    reason,
                    approved_at: now,
                },
                deleted_at: now,
            },
        )
        .await?;
        let detail = record::load_detail(tx.conn().await?, &self.cipher, order_id, today)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        tx.commit().await?;
        Ok(detail)
    }
}
