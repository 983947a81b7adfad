//! Applying one pushed mutation: the actor and approver checked against the roster, the
//! ledger rule for payments and reversals, edits, completions and deletions.

use super::new_order::insert_order;
use super::{rejected, Outcome, PushContext};
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use pos_crypto::Aad;
use pos_domain::items::price_items;
use pos_domain::{Currency, ItemInput, LineItem, Money, OrderStatus, Role};
use pos_protocol::{events, DomainEvent};
use pos_protocol::{Approval, Mutation, MutationBody, PaymentRecord};
use serde_json::json;
use sqlx::Row;
use uuid::Uuid;

async fn staff_role(
    tx: &mut Tx,
    ctx: &mut PushContext,
    tenant: Uuid,
    id: Uuid,
) -> ApiResult<Option<Role>> {
    if let Some(r) = ctx.roles.get(&id) {
        return Ok(*r);
    }
    let r: Option<String> =
        sqlx::query_scalar("SELECT role FROM users WHERE tenant_id = $1 AND id = $2 AND active")
            .bind(tenant)
            .bind(id)
            .fetch_optional(&mut **tx)
            .await?;
    let role = r.and_then(|r| r.parse().ok());
    ctx.roles.insert(id, role);
    Ok(role)
}

/// The approver must be in the roster with the role the approval names, and that role must
/// be allowed to approve.
async fn check_approval(
    tx: &mut Tx,
    ctx: &mut PushContext,
    tenant: Uuid,
    a: &Approval,
) -> ApiResult<Option<Outcome>> {
    match staff_role(tx, ctx, tenant, a.approver_id.0).await? {
        Some(r) if r == a.approver_role && r.can_approve() => Ok(None),
        Some(r) => Ok(Some(rejected(
            "approver_role",
            format!("The approver is a {r} here, not an owner or manager"),
        ))),
        None => Ok(Some(rejected(
            "unknown_approver",
            "The approver is not on this shop's roster",
        ))),
    }
}

pub(super) async fn apply(
    s: &AppState,
    tx: &mut Tx,
    ctx: &mut PushContext,
    tenant: Uuid,
    device: Uuid,
    m: &Mutation,
) -> ApiResult<Outcome> {
    if staff_role(tx, ctx, tenant, m.actor_id.0).await?.is_none() {
        return Ok(rejected(
            "unknown_actor",
            "The staff member is not on this shop's roster",
        ));
    }
    let order = sqlx::query("SELECT currency, status, version, total_minor, paid_minor, completed_at IS NOT NULL AS completed FROM orders WHERE tenant_id = $1 AND id = $2 FOR UPDATE")
        .bind(tenant)
        .bind(m.order_id.0)
        .fetch_optional(&mut **tx)
        .await?;
    let now = s.now();
    match &m.body {
        MutationBody::OrderCreated { order: snap } => {
            if order.is_some() {
                return Ok(rejected(
                    "order_exists",
                    "An order with this id already exists",
                ));
            }
            let outcome = insert_order(s, tx, tenant, device, snap).await?;
            if matches!(outcome, Outcome::Applied | Outcome::Renumbered(_)) {
                // its payments arrive as mutations of their own
                tx.count_on_commit(crate::metrics::Count::Created {
                    with_payment: false,
                    paid_in_full: false,
                });
            }
            Ok(outcome)
        }
        body => {
            let Some(o) = order else {
                return Ok(rejected(
                    "unknown_order",
                    "The order is not known to the server",
                ));
            };
            let currency: Currency = o
                .get::<String, _>("currency")
                .parse()
                .map_err(|_| ApiError::Internal("currency".into()))?;
            let status: String = o.get("status");
            let version: i32 = o.get("version");
            let total = currency.from_minor(o.get("total_minor"));
            let paid = currency.from_minor(o.get("paid_minor"));
            let completed: bool = o.get("completed");
            let oid = m.order_id.0;
            match body {
                MutationBody::PaymentRecorded { payment }
                | MutationBody::PaymentReversed { payment, .. } => {
                    if payment.order_id != m.order_id {
                        return Ok(rejected(
                            "order_mismatch",
                            "The payment names another order than its mutation",
                        ));
                    }
                    if status == "deleted" {
                        return Ok(rejected("order_deleted", "The order is deleted"));
                    }
                    if let Err(e) =
                        pos_domain::text::reference(payment.reference.clone(), "reference")
                    {
                        return Ok(rejected("invalid_text", e.to_string()));
                    }
                    let (same, _) = ledger_entry(tx, tenant, currency, Some(payment.id)).await?;
                    if let Some(e) = same {
                        // The same entry again is a replay; another entry under its id is not.
                        return Ok(
                            if e.order_id == m.order_id
                                && e.amount.0 == payment.amount
                                && e.reverses == payment.reverses
                            {
                                Outcome::Applied
                            } else {
                                rejected(
                                    "payment_id_in_use",
                                    "This payment id is recorded with other contents",
                                )
                            },
                        );
                    }
                    let checked = match body {
                        MutationBody::PaymentReversed { approval, .. } => {
                            if let Some(r) = check_approval(tx, ctx, tenant, approval).await? {
                                return Ok(r);
                            }
                            let (original, already) =
                                ledger_entry(tx, tenant, currency, payment.reverses).await?;
                            pos_domain::ledger::reversal(
                                currency,
                                m.order_id,
                                original.as_ref(),
                                already,
                                Some(approval.approver_role),
                                Some(payment.amount),
                            )
                        }
                        _ if payment.reverses.is_some() => {
                            Err(pos_domain::LedgerError::ReversalNeedsApproval)
                        }
                        _ => pos_domain::ledger::payment(
                            currency,
                            "amount",
                            payment.amount,
                            paid,
                            total,
                        ),
                    };
                    let amount = match checked {
                        Ok(a) => a,
                        Err(e) => return Ok(rejected_ledger(&e)),
                    };
                    let new_paid = paid + amount;
                    insert_payment(s, tx, tenant, payment, currency, body).await?;
                    let st = OrderStatus::derive(false, completed, new_paid == total);
                    sqlx::query("UPDATE orders SET paid_minor = $3, status = $4, updated_at = $5 WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant).bind(oid).bind(new_paid.to_minor(currency)).bind(st.as_str()).bind(now)
                        .execute(&mut **tx).await?;
                    if payment.reverses.is_none() {
                        tx.count_on_commit(crate::metrics::Count::Payment {
                            paid_in_full: new_paid == total,
                        });
                    }
                    tx.outbox(DomainEvent::payment(events::PaymentMoved {
                        order_id: oid,
                        payment_id: payment.id.0,
                        amount,
                        reverses: payment.reverses.map(|r| r.0),
                        device_id: Some(device),
                    }));
                    Ok(Outcome::Applied)
                }
                MutationBody::OrderUpdated {
                    base_version,
                    version: new_version,
                    customer,
                    items,
                    totals,
                    notes,
                    schedule,
                } => {
                    if status == "deleted" {
                        return Ok(Outcome::Conflict(
                            "The order was deleted".into(),
                            json!({"status": "deleted", "version": version}),
                        ));
                    }
                    if *base_version as i32 != version {
                        return Ok(Outcome::Conflict(
                            format!("The order is at version {version}, not {base_version}"),
                            json!({"status": status, "version": version}),
                        ));
                    }
                    let inputs: Vec<ItemInput> = items.iter().map(LineItem::to_input).collect();
                    let (_, check) = match price_items(inputs, Some(totals.discount), currency) {
                        Ok(v) => v,
                        Err(e) => return Ok(rejected("invalid_items", e.to_string())),
                    };
                    if check != *totals
                        || totals.total < paid
                        || schedule.iter().map(|e| e.amount).sum::<Money>() != totals.total
                    {
                        return Ok(rejected(
                            "totals_mismatch",
                            "Totals or schedule do not follow from the items",
                        ));
                    }
                    let customer = match customer
                        .clone()
                        .validated(o_channel(tx, tenant, oid).await?)
                    {
                        Ok(c) => c,
                        Err(e) => return Ok(rejected("invalid_customer", e.to_string())),
                    };
                    let notes = match pos_domain::text::notes(notes.clone()) {
                        Ok(n) => n,
                        Err(e) => return Ok(rejected("invalid_text", e.to_string())),
                    };
                    let ids = oid.to_string();
                    let sealed = crate::pii::seal(&s.cipher, &ids, &customer, notes.as_deref());
                    let keys = crate::pii::search_keys(&s.cipher, &customer)?;
                    sqlx::query("UPDATE orders SET customer_name = $3, customer_phone = $4, customer_email = $5, customer_address = $6, notes = $7, items = $8, schedule = $9, subtotal_minor = $10, discount_minor = $11, total_minor = $12, version = $13, status = $14, updated_at = $15, last_modified_by_user_id = $16, phone_index = $17, email_index = $18, name_tokens = $19 WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant).bind(oid)
                        .bind(&sealed.name).bind(&sealed.phone).bind(&sealed.email).bind(&sealed.address).bind(&sealed.notes)
                        .bind(serde_json::to_value(items).unwrap_or_default())
                        .bind(serde_json::to_value(schedule).unwrap_or_default())
                        .bind(totals.subtotal.to_minor(currency)).bind(totals.discount.to_minor(currency)).bind(totals.total.to_minor(currency))
                        .bind(*new_version as i32)
                        .bind(OrderStatus::derive(false, completed, paid == totals.total).as_str())
                        .bind(now).bind(m.actor_id.0)
                        .bind(keys.phone_index).bind(keys.email_index).bind(keys.tokens)
                        .execute(&mut **tx).await?;
                    tx.outbox(DomainEvent::OrderUpdated(events::OrderUpdated {
                        order_id: oid,
                        version: *new_version,
                        total: totals.total,
                        device_id: Some(device),
                    }));
                    Ok(Outcome::Applied)
                }
                MutationBody::OrderCompleted { completed_at } => match status.as_str() {
                    "completed" => Ok(Outcome::Applied),
                    "paid" => {
                        sqlx::query("UPDATE orders SET status = 'completed', completed_at = $3, updated_at = $4 WHERE tenant_id = $1 AND id = $2")
                                .bind(tenant).bind(oid).bind(completed_at).bind(now).execute(&mut **tx).await?;
                        tx.outbox(DomainEvent::OrderCompleted(events::OrderChanged {
                            order_id: oid,
                            device_id: Some(device),
                        }));
                        Ok(Outcome::Applied)
                    }
                    other => Ok(rejected(
                        "not_paid",
                        format!("The order is {other} on the server"),
                    )),
                },
                MutationBody::OrderDeleted {
                    approval,
                    deleted_at,
                } => {
                    if let Some(r) = check_approval(tx, ctx, tenant, approval).await? {
                        return Ok(r);
                    }
                    if status == "deleted" {
                        return Ok(Outcome::Applied);
                    }
                    if let Err(e) = pos_domain::ledger::deletion(paid) {
                        return Ok(rejected_ledger(&e));
                    }
                    let ids = oid.to_string();
                    sqlx::query("UPDATE orders SET status = 'deleted', deleted_at = $3, deleted_by = $4, delete_reason = $5, approved_by = $6, approver_role = $7, approved_at = $8, updated_at = $9 WHERE tenant_id = $1 AND id = $2")
                        .bind(tenant).bind(oid).bind(deleted_at).bind(m.actor_id.0)
                        .bind(s.cipher.encrypt_str(&approval.reason, Aad { table: "orders", record_id: &ids, field: "delete_reason" }))
                        .bind(approval.approver_id.0).bind(approval.approver_role.as_str()).bind(approval.approved_at).bind(now)
                        .execute(&mut **tx).await?;
                    tx.outbox(DomainEvent::OrderDeleted(events::OrderChanged {
                        order_id: oid,
                        device_id: Some(device),
                    }));
                    Ok(Outcome::Applied)
                }
                MutationBody::OrderCreated { .. } => Ok(rejected(
                    "order_exists",
                    "An order with this id already exists",
                )),
            }
        }
    }
}

/// The ledger entry `id` names (if any), and whether a reversal of it is recorded.
async fn ledger_entry(
    tx: &mut Tx,
    tenant: Uuid,
    currency: Currency,
    id: Option<pos_domain::PaymentId>,
) -> ApiResult<(Option<pos_domain::ledger::Entry>, bool)> {
    let Some(id) = id else {
        return Ok((None, false));
    };
    let row = sqlx::query(
        "SELECT order_id, amount_minor, reverses,
                EXISTS (SELECT 1 FROM payments r WHERE r.tenant_id = p.tenant_id AND r.reverses = p.id) AS reversed
         FROM payments p WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id.0)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(match row {
        None => (None, false),
        Some(r) => (
            Some(pos_domain::ledger::Entry {
                id,
                order_id: r.get::<Uuid, _>("order_id").into(),
                amount: currency.from_minor(r.get("amount_minor")),
                reverses: r.get::<Option<Uuid>, _>("reverses").map(Into::into),
            }),
            r.get("reversed"),
        ),
    })
}

fn rejected_ledger(e: &pos_domain::LedgerError) -> Outcome {
    Outcome::Rejected(e.code().to_owned().into(), e.to_string())
}

async fn o_channel(tx: &mut Tx, tenant: Uuid, id: Uuid) -> ApiResult<pos_domain::Channel> {
    let c: String =
        sqlx::query_scalar("SELECT channel FROM orders WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(id)
            .fetch_one(&mut **tx)
            .await?;
    c.parse().map_err(ApiError::Internal)
}

async fn insert_payment(
    s: &AppState,
    tx: &mut Tx,
    tenant: Uuid,
    p: &PaymentRecord,
    currency: Currency,
    body: &MutationBody,
) -> ApiResult<()> {
    let approval = match body {
        MutationBody::PaymentReversed { approval, .. } => Some(approval),
        _ => None,
    };
    let minor =
        Money(p.amount.abs()).to_minor(currency) * if p.amount.is_sign_negative() { -1 } else { 1 };
    let pid = p.id.0.to_string();
    let reason = approval.map(|a| {
        s.cipher.encrypt_str(
            &a.reason,
            Aad {
                table: "payments",
                record_id: &pid,
                field: "approval_reason",
            },
        )
    });
    sqlx::query("INSERT INTO payments (tenant_id, id, order_id, amount_minor, method, paid_at, recorded_by, reference, reverses, approved_by, approver_role, approval_reason, approved_at, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)")
        .bind(tenant).bind(p.id.0).bind(p.order_id.0).bind(minor).bind(p.method.as_str()).bind(p.paid_at).bind(p.recorded_by.0).bind(&p.reference)
        .bind(p.reverses.map(|r| r.0)).bind(approval.map(|a| a.approver_id.0)).bind(approval.map(|a| a.approver_role.as_str()))
        .bind(reason).bind(approval.map(|a| a.approved_at)).bind(s.now())
        .execute(&mut **tx).await?;
    Ok(())
}
