use super::record::{self, OrderDetail};
use super::{validate_reason, validate_reference, PaymentInput};
use crate::audit::{self, NewEvent};
use crate::db::ts;
use crate::error::{Result, StoreError};
use crate::outbox;
use crate::session::Session;
use crate::store::staff::ApprovalInput;
use crate::store::Store;
use crate::write_tx::WriteTx;
use chrono::{DateTime, Utc};
use pos_domain::{Currency, Money, OrderId, OrderStatus, PaymentId, Role, StaffId, Standing};
use pos_protocol::{Approval, AuditAction, FieldChange, MutationBody, PaymentRecord};
use sqlx::{QueryBuilder, Row};

impl Store {
    /// Writes one ledger entry and everything that follows from it: the order's paid amount
    /// and status, a PAYMENT audit event and the outbox mutation.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_payment(
        &self,
        conn: &mut WriteTx<'_>,
        p: PaymentRecord,
        approval: Option<(Approval, String)>,
        actor: (StaffId, Role),
        (paid_before, total, completed): (Money, Money, bool),
        currency: Currency,
        now: DateTime<Utc>,
        update_order: bool,
    ) -> Result<()> {
        let pid = p.id.to_string();
        let oid = p.order_id.to_string();
        // A new order's first payment is written at commit with the order (nothing reads it
        // back in between); a later payment at once, before the order's paid amount changes.
        let mut now_q = QueryBuilder::new("");
        let q = if update_order {
            &mut now_q
        } else {
            &mut conn.deferred
        };
        super::rows::push_payment_insert(
            q,
            &self.cipher,
            &p,
            approval.as_ref().map(|(a, _)| a),
            currency,
            now,
        );
        q.push(";\n");
        if update_order {
            now_q.build().execute(conn.conn().await?).await?;
        }
        let paid = paid_before + p.amount;
        let status = OrderStatus::of(Standing::live(paid, total, completed));
        // A new order is inserted already paid; later payments update it here.
        let updated = if !update_order {
            1
        } else {
            sqlx::query(
            "UPDATE orders SET paid_minor = ?, status = ?, updated_at = ? WHERE id = ? AND paid_minor = ?",
        )
        .bind(paid.to_minor(currency))
        .bind(status.as_str())
        .bind(ts(&now))
        .bind(&oid)
        .bind(paid_before.to_minor(currency))
        .execute(conn.conn().await?)
        .await?
        .rows_affected()
        };
        if updated != 1 {
            return Err(StoreError::corrupt("order changed during a payment"));
        }
        let op = if p.reverses.is_some() {
            "payment.reverse"
        } else {
            "payment.record"
        };
        let mut detail = format!(
            "order={oid} amount={} method={}",
            p.amount,
            p.method.as_str()
        );
        if let Some(r) = p.reverses {
            detail.push_str(&format!(" reverses={r}"));
        }
        let mut fields = vec![FieldChange::new(
            &pid,
            "amount",
            None,
            Some(&p.amount.to_string()),
        )];
        if let Some((a, _)) = &approval {
            fields.push(FieldChange::new(&pid, "reason", None, Some(&a.reason)));
        }
        audit::append(
            conn,
            self.device_id,
            now,
            NewEvent::new(
                Some(actor),
                AuditAction::Payment,
                "payment",
                Some(pid.clone()),
                op,
            )
            .detail(detail)
            .fields(fields),
        )
        .await?;
        let order_id = p.order_id;
        let body = match approval {
            Some((a, _)) => MutationBody::PaymentReversed {
                payment: p,
                approval: a,
            },
            None => MutationBody::PaymentRecorded { payment: p },
        };
        let hlc = self.next_hlc(now);
        outbox::append(
            conn,
            &self.cipher,
            self.device_id,
            hlc,
            now,
            actor,
            order_id,
            body,
        )
        .await?;
        Ok(())
    }

    /// Records a payment. More than the outstanding balance is refused; so is paying a
    /// deleted order. The same payment id again returns the order unchanged.
    pub async fn record_payment(
        &self,
        session: &Session,
        order_id: OrderId,
        input: PaymentInput,
    ) -> Result<OrderDetail> {
        let config = self.require_config()?;
        let now = self.now();
        let today = config.business_date(now);
        let mut tx = self.begin_write().await?;
        let order = record::load_order(tx.conn().await?, &self.cipher, order_id)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        if let Some(pid) = input.id {
            let existing: i64 =
                sqlx::query_scalar("SELECT COUNT(*) FROM payments WHERE order_id = ? AND id = ?")
                    .bind(order_id.to_string())
                    .bind(pid.to_string())
                    .fetch_one(tx.conn().await?)
                    .await?;
            if existing > 0 {
                drop(tx);
                return self.get_order(session, order_id).await;
            }
        }
        if order.deleted.is_some() {
            return Err(StoreError::Conflict {
                code: "order_deleted",
                message: format!(
                    "Order {} is deleted and cannot take payments",
                    order.order_number
                ),
            });
        }
        let amount = pos_domain::ledger::payment(
            order.currency,
            "amount",
            input.amount.amount(),
            order.paid,
            order.totals.total,
        )?;
        let reference = validate_reference(input.reference)?;
        let actor = (session.staff_id(), session.role());
        self.insert_payment(
            &mut tx,
            PaymentRecord {
                id: input.id.unwrap_or_else(|| self.uuid_at(now).into()),
                order_id,
                amount,
                method: input.method,
                paid_at: now,
                recorded_by: session.staff_id(),
                reference,
                reverses: None,
            },
            None,
            actor,
            (order.paid, order.totals.total, order.completed_at.is_some()),
            order.currency,
            now,
            true,
        )
        .await?;
        let detail = record::load_detail(tx.conn().await?, &self.cipher, order_id, today)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        tx.commit().await?;
        Ok(detail)
    }

    /// Corrects a payment with a reversing entry. Needs an owner or manager: their own session,
    /// or a cashier's session plus the approver's PIN.
    pub async fn reverse_payment(
        &self,
        session: &Session,
        order_id: OrderId,
        payment_id: PaymentId,
        reason: &str,
        approval: Option<ApprovalInput>,
    ) -> Result<OrderDetail> {
        let config = self.require_config()?;
        let reason = validate_reason(reason)?;
        let (approver, approver_role) = self
            .resolve_approval(session, approval, "payment.reverse")
            .await?;
        let now = self.now();
        let today = config.business_date(now);
        let mut tx = self.begin_write().await?;
        let order = record::load_order(tx.conn().await?, &self.cipher, order_id)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        if order.deleted.is_some() {
            return Err(StoreError::Conflict {
                code: "order_deleted",
                message: format!("Order {} is deleted", order.order_number),
            });
        }
        // Checked inside the write transaction: two reversals of one payment cannot both pass.
        let row = sqlx::query(
            "SELECT amount_minor, method, reverses,
                    EXISTS (SELECT 1 FROM payments r WHERE r.order_id = p.order_id AND r.reverses = p.id
                                AND r.not_on_service_at IS NULL) AS reversed
             FROM payments p WHERE order_id = ? AND id = ? AND not_on_service_at IS NULL",
        )
        .bind(order_id.to_string())
        .bind(payment_id.to_string())
        .fetch_optional(tx.conn().await?)
        .await?;
        let mut method = pos_domain::PaymentMethod::Cash;
        let (original, already_reversed) = match row {
            None => (None, false),
            Some(r) => {
                method = r
                    .get::<String, _>("method")
                    .parse()
                    .map_err(StoreError::corrupt)?;
                let reverses = r
                    .get::<Option<String>, _>("reverses")
                    .map(|s| s.parse::<uuid::Uuid>().map(PaymentId::from))
                    .transpose()
                    .map_err(StoreError::corrupt)?;
                (
                    Some(pos_domain::ledger::Entry {
                        id: payment_id,
                        order_id,
                        amount: order.currency.from_minor(r.get("amount_minor")),
                        reverses,
                    }),
                    r.get::<bool, _>("reversed"),
                )
            }
        };
        self.insert_reversal(
            &mut tx,
            session,
            &order,
            order.paid,
            Reversed {
                original: original.as_ref(),
                already_reversed,
                method,
            },
            (approver, approver_role),
            &reason,
            now,
        )
        .await?;
        let detail = record::load_detail(tx.conn().await?, &self.cipher, order_id, today)
            .await?
            .ok_or(StoreError::NotFound { entity: "order" })?;
        tx.commit().await?;
        Ok(detail)
    }

    /// Writes the reversing entry of a payment of `order` (paid `paid_before` so far), under
    /// the ledger's rule and the approval given; returns its (negative) amount.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_reversal(
        &self,
        tx: &mut WriteTx<'_>,
        session: &Session,
        order: &record::OrderRow,
        paid_before: Money,
        reversed: Reversed<'_>,
        (approver, approver_role): (StaffId, Role),
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<Money> {
        let amount = pos_domain::ledger::reversal(
            order.currency,
            order.id,
            reversed.original,
            reversed.already_reversed,
            Some(approver_role),
            None,
        )?;
        let Some(original) = reversed.original else {
            return Err(StoreError::NotFound { entity: "payment" });
        };
        let approval = Approval {
            approver_id: approver,
            approver_role,
            reason: reason.to_owned(),
            approved_at: now,
        };
        self.insert_payment(
            tx,
            PaymentRecord {
                id: self.uuid_at(now).into(),
                order_id: order.id,
                amount,
                method: reversed.method,
                paid_at: now,
                recorded_by: session.staff_id(),
                reference: None,
                reverses: Some(original.id),
            },
            Some((approval, reason.to_owned())),
            (session.staff_id(), session.role()),
            (
                paid_before,
                order.totals.total,
                order.completed_at.is_some(),
            ),
            order.currency,
            now,
            true,
        )
        .await?;
        Ok(amount)
    }

    /// Who approves: an owner or manager acting themselves, or the approver whose PIN a
    /// cashier's screen collected (checked, with failures audited).
    pub(crate) async fn resolve_approval(
        &self,
        session: &Session,
        approval: Option<ApprovalInput>,
        what: &'static str,
    ) -> Result<(StaffId, Role)> {
        match approval {
            Some(a) => self.verify_approval(a, what).await,
            None if session.role().can_approve() => Ok((session.staff_id(), session.role())),
            None => Err(StoreError::ApprovalRequired),
        }
    }
}

/// The payment a reversal reverses, as the ledger holds it, and how it was paid.
pub(crate) struct Reversed<'a> {
    pub original: Option<&'a pos_domain::ledger::Entry>,
    pub already_reversed: bool,
    pub method: pos_domain::PaymentMethod,
}
