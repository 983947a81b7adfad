//! Applying one pushed mutation: the actor and approver checked against the roster, the
//! ledger rule for payments and reversals, edits, completions and deletions.

use super::new_order::insert_order;
use super::{rejected, Outcome, PushContext};
use crate::app::{ledger, lifecycle};
use crate::db::orders::{self, Deletion, Locked};
use crate::db::payments::{self, NewEntry};
use crate::db::Tx;
use crate::error::ApiResult;
use crate::AppState;
use pos_crypto::Aad;
use pos_domain::items::price_items;
use pos_domain::{ItemInput, LineItem, Money, OrderStatus, Role};
use pos_protocol::{Approval, Mutation, MutationBody, PaymentRecord};
use serde_json::json;
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
    let role = crate::db::users::active_role(tx, tenant, id)
        .await?
        .map(|(role, _)| role);
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
    let order = orders::lock(tx, tenant, m.order_id.0).await?;
    match (&m.body, order) {
        (MutationBody::OrderCreated { order: snap }, None) => {
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
        (MutationBody::OrderCreated { .. }, Some(_)) => Ok(rejected(
            "order_exists",
            "An order with this id already exists",
        )),
        (_, None) => Ok(rejected(
            "unknown_order",
            "The order is not known to the server",
        )),
        (
            MutationBody::PaymentRecorded { payment }
            | MutationBody::PaymentReversed { payment, .. },
            Some(o),
        ) => apply_payment(s, tx, ctx, (tenant, device), m, payment, &o).await,
        (
            MutationBody::OrderUpdated {
                base_version,
                version,
                customer,
                items,
                totals,
                notes,
                schedule,
            },
            Some(o),
        ) => {
            let pushed = Pushed {
                base_version: *base_version,
                version: *version,
                customer,
                items,
                totals,
                notes,
                schedule,
            };
            apply_edit(s, tx, (tenant, device), m, &o, pushed).await
        }
        (MutationBody::OrderCompleted { completed_at }, Some(o)) => match o.status {
            OrderStatus::Completed => Ok(Outcome::Applied),
            OrderStatus::Paid => {
                lifecycle::complete(
                    tx,
                    tenant,
                    m.order_id.0,
                    *completed_at,
                    Some(device),
                    s.now(),
                )
                .await?;
                Ok(Outcome::Applied)
            }
            other => Ok(rejected(
                "not_paid",
                format!("The order is {other} on the server"),
            )),
        },
        (
            MutationBody::OrderDeleted {
                approval,
                deleted_at,
            },
            Some(o),
        ) => {
            if let Some(r) = check_approval(tx, ctx, tenant, approval).await? {
                return Ok(r);
            }
            if o.is_deleted() {
                return Ok(Outcome::Applied);
            }
            if let Err(e) = pos_domain::ledger::deletion(o.paid) {
                return Ok(rejected_ledger(&e));
            }
            let ids = m.order_id.0.to_string();
            let deletion = Deletion {
                at: *deleted_at,
                by: m.actor_id.0,
                sealed_reason: s
                    .cipher
                    .encrypt_str(&approval.reason, crate::orders::aad(&ids, "delete_reason")),
                approver: approval.approver_id.0,
                approver_role: approval.approver_role,
                approved_at: approval.approved_at,
            };
            lifecycle::delete(tx, tenant, m.order_id.0, deletion, Some(device), s.now()).await?;
            Ok(Outcome::Applied)
        }
    }
}

/// A payment or reversal recorded on a counter: the same entry again is a replay, and a new
/// one is posted once the ledger rule accepts it.
async fn apply_payment(
    s: &AppState,
    tx: &mut Tx,
    ctx: &mut PushContext,
    (tenant, device): (Uuid, Uuid),
    m: &Mutation,
    payment: &PaymentRecord,
    o: &Locked,
) -> ApiResult<Outcome> {
    if payment.order_id != m.order_id {
        return Ok(rejected(
            "order_mismatch",
            "The payment names another order than its mutation",
        ));
    }
    if o.is_deleted() {
        return Ok(rejected("order_deleted", "The order is deleted"));
    }
    let reference = match pos_domain::text::reference(payment.reference.clone(), "reference") {
        Ok(r) => r,
        Err(e) => return Ok(rejected("invalid_text", e.to_string())),
    };
    let currency = o.currency;
    if let Some(same) = payments::entry(tx, tenant, currency, payment.id.0).await? {
        // The same entry again is a replay; another entry under its id is not.
        let e = same.entry;
        return Ok(
            if e.order_id == m.order_id
                && e.amount == payment.amount
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
    let approval = match &m.body {
        MutationBody::PaymentReversed { approval, .. } => Some(approval),
        _ => None,
    };
    let checked = match (approval, payment.reverses) {
        (Some(approval), _) => {
            if let Some(r) = check_approval(tx, ctx, tenant, approval).await? {
                return Ok(r);
            }
            let original = match payment.reverses {
                Some(r) => payments::entry(tx, tenant, currency, r.0).await?,
                None => None,
            };
            pos_domain::ledger::reversal(
                currency,
                m.order_id,
                original.as_ref().map(|r| &r.entry),
                original.as_ref().is_some_and(|r| r.reversed),
                Some(approval.approver_role),
                Some(payment.amount.amount()),
            )
        }
        (None, Some(_)) => Err(pos_domain::LedgerError::ReversalNeedsApproval),
        (None, None) => pos_domain::ledger::payment(
            currency,
            "amount",
            payment.amount.amount(),
            o.paid,
            o.total,
        ),
    };
    let amount = match checked {
        Ok(a) => a,
        Err(e) => return Ok(rejected_ledger(&e)),
    };
    let pid = payment.id.0.to_string();
    let entry = NewEntry {
        id: payment.id.0,
        order_id: m.order_id.0,
        amount,
        method: payment.method.as_str(),
        paid_at: payment.paid_at,
        recorded_by: payment.recorded_by.0,
        reference: reference.as_deref(),
        reverses: payment.reverses.map(|r| r.0),
        approval: approval.map(|a| payments::Approval {
            by: a.approver_id.0,
            role: a.approver_role,
            sealed_reason: s.cipher.encrypt_str(
                &a.reason,
                Aad {
                    table: "payments",
                    record_id: &pid,
                    field: "approval_reason",
                },
            ),
            at: a.approved_at,
        }),
    };
    ledger::post(tx, tenant, o, entry, None, Some(device), s.now()).await?;
    Ok(Outcome::Applied)
}

/// The content of a pushed `order.updated`.
struct Pushed<'a> {
    base_version: u32,
    version: u32,
    customer: &'a pos_domain::Customer,
    items: &'a [LineItem],
    totals: &'a pos_domain::Totals,
    notes: &'a Option<String>,
    schedule: &'a [pos_domain::ScheduleEntry],
}

/// An edit made on a counter at the order's current version: its content must follow from
/// its items (the counter priced it with the same rule) and pass the same checks.
async fn apply_edit(
    s: &AppState,
    tx: &mut Tx,
    (tenant, device): (Uuid, Uuid),
    m: &Mutation,
    o: &Locked,
    pushed: Pushed<'_>,
) -> ApiResult<Outcome> {
    let Pushed {
        base_version,
        version: new_version,
        customer,
        items,
        totals,
        notes,
        schedule,
    } = pushed;
    let (currency, version) = (o.currency, o.version);
    if o.is_deleted() {
        return Ok(Outcome::Conflict(
            "The order was deleted".into(),
            json!({"status": o.status, "version": version}),
        ));
    }
    if base_version as i32 != version {
        return Ok(Outcome::Conflict(
            format!("The order is at version {version}, not {base_version}"),
            json!({"status": o.status, "version": version}),
        ));
    }
    let inputs: Vec<ItemInput> = items.iter().map(LineItem::to_input).collect();
    let (_, check) = match price_items(inputs, Some(totals.discount), currency) {
        Ok(v) => v,
        Err(e) => return Ok(rejected("invalid_items", e.to_string())),
    };
    if check != *totals
        || totals.total < o.paid
        || schedule.iter().map(|e| e.amount).sum::<Money>() != totals.total
    {
        return Ok(rejected(
            "totals_mismatch",
            "Totals or schedule do not follow from the items",
        ));
    }
    let oid = m.order_id.0;
    let customer = match customer.clone().validated(o.channel) {
        Ok(c) => c,
        Err(e) => return Ok(rejected("invalid_customer", e.to_string())),
    };
    let notes = match pos_domain::text::notes(notes.clone()) {
        Ok(n) => n,
        Err(e) => return Ok(rejected("invalid_text", e.to_string())),
    };
    let content = pos_domain::edit::Content {
        customer,
        notes,
        items: items.to_vec(),
        totals: *totals,
        schedule: schedule.to_vec(),
    };
    let e = lifecycle::Edit {
        content: &content,
        currency,
        status: OrderStatus::of(pos_domain::Standing::live(
            o.paid,
            totals.total,
            o.completed,
        )),
        paid: o.paid,
        version: new_version as i32,
        by: m.actor_id.0,
        device: Some(device),
        country: s.settings(tx, tenant).await?.phone_country_code,
        now: s.now(),
    };
    lifecycle::edit(&s.cipher, tx, tenant, oid, e).await?;
    Ok(Outcome::Applied)
}

fn rejected_ledger(e: &pos_domain::LedgerError) -> Outcome {
    Outcome::Rejected(e.code().to_owned().into(), e.to_string())
}
