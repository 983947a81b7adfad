//! `POST /sync/push`: a device's mutations, each applied in its own transaction together with
//! its idempotency record, and its audit events, accepted only where they continue the
//! device's hash chain. Rules are re-checked here with `pos-domain` (totals, schedules,
//! balances) and approvals are re-checked against the approver's role in the roster.

use crate::audit::{self, Event};
use crate::auth::Auth;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use chrono::Utc;
use pos_crypto::Aad;
use pos_domain::items::price_items;
use pos_domain::{Currency, ItemInput, LineItem, Money, OrderStatus, Role};
use pos_protocol::{events, DomainEvent};
use pos_protocol::{
    Approval, AuditAck, Mutation, MutationBody, MutationResult, MutationStatus, OrderSnapshot,
    PaymentRecord, PushRequest, PushResponse,
};
use serde_json::json;
use sqlx::Row;
use std::collections::HashMap;
use uuid::Uuid;

/// Most mutations accepted in one push.
pub const MAX_BATCH: usize = 2000;

enum Outcome {
    Applied,
    /// Applied, the new order under another number than the counter gave it.
    Renumbered(String),
    Rejected(std::borrow::Cow<'static, str>, String),
    Conflict(String, serde_json::Value),
}

fn rejected(code: &'static str, reason: impl Into<String>) -> Outcome {
    Outcome::Rejected(code.into(), reason.into())
}

#[utoipa::path(
    post,
    path = "/sync/push",
    tag = "sync",
    request_body = Object,
    responses((status = 200, description = "a result per mutation and the audit acknowledgement", body = Object)),
    security(("bearer" = []))
)]
pub async fn push(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<PushRequest>,
) -> ApiResult<Json<PushResponse>> {
    if auth.0.kind != "device" {
        return Err(ApiError::Forbidden("Only a paired device pushes".into()));
    }
    if req.mutations.len() > MAX_BATCH || req.audit_events.len() > 5 * MAX_BATCH {
        return Err(ApiError::Unprocessable {
            code: "batch_too_large".into(),
            message: format!("At most {MAX_BATCH} mutations per push"),
            field: Some("mutations".into()),
        });
    }
    let (tenant, device) = (auth.tenant(), auth.user());
    // The whole push is one transaction with one durable commit; nothing is acknowledged
    // before it. Each mutation applies or not on its own: rules are checked before anything
    // is written, so a refused mutation leaves nothing behind. Should one still hit a
    // database error, the push is redone with a savepoint around every mutation, so that one
    // is refused alone and never blocks the queue.
    match run_push(&s, tenant, device, &req, false).await {
        Err(ApiError::Internal(msg)) => {
            tracing::warn!(error = %msg, "push hit a database error; redoing it mutation by mutation");
            run_push(&s, tenant, device, &req, true).await
        }
        other => other,
    }
}

async fn run_push(
    s: &AppState,
    tenant: Uuid,
    device: Uuid,
    req: &PushRequest,
    savepoints: bool,
) -> ApiResult<Json<PushResponse>> {
    let mut tx = s.tx(tenant).await?;
    let ids: Vec<Uuid> = req.mutations.iter().map(|m| m.mutation_id).collect();
    let seen: HashMap<Uuid, Option<Vec<u8>>> = sqlx::query_as(
        "SELECT mutation_id, body_hash FROM sync_mutations WHERE tenant_id = $1 AND mutation_id = ANY($2)",
    )
    .bind(tenant)
    .bind(&ids)
    .fetch_all(&mut *tx)
    .await?
    .into_iter()
    .collect();
    let mut ctx = PushContext {
        seen,
        blocked: Default::default(),
        roles: Default::default(),
        savepoints,
    };
    let mut results = Vec::with_capacity(req.mutations.len());
    for m in &req.mutations {
        results.push(apply_one(s, &mut tx, &mut ctx, tenant, device, m).await?);
    }
    let audit = store_audit(&mut tx, tenant, device, &req.audit_events).await?;
    tx.commit().await?;
    for r in &results {
        s.metrics.count_sync(r.status);
    }
    Ok(Json(PushResponse {
        results,
        audit,
        server_time: s.now(),
    }))
}

/// What one push learns once and reuses: mutations already applied, roster roles.
struct PushContext {
    /// Mutations already applied, with the hash of what was applied under each id.
    seen: HashMap<Uuid, Option<Vec<u8>>>,
    /// Orders with a refused mutation in this push: their later mutations are skipped.
    blocked: std::collections::HashSet<pos_domain::OrderId>,
    roles: std::collections::HashMap<Uuid, Option<Role>>,
    /// Wrap each mutation in a savepoint (the careful second pass).
    savepoints: bool,
}

async fn apply_one(
    s: &AppState,
    tx: &mut Tx,
    ctx: &mut PushContext,
    tenant: Uuid,
    device: Uuid,
    m: &Mutation,
) -> ApiResult<MutationResult> {
    let result = |status, code: Option<&str>, reason: Option<String>, current| MutationResult {
        mutation_id: m.mutation_id,
        status,
        code: code.map(str::to_owned),
        reason,
        current,
        order_number: None,
    };
    if m.device_id != device {
        return Ok(result(
            MutationStatus::Rejected,
            Some("wrong_device"),
            Some("The mutation belongs to another device".into()),
            None,
        ));
    }
    if let Some(stored) = ctx.seen.get(&m.mutation_id) {
        if stored.as_ref().is_some_and(|h| *h != body_hash(m)) {
            return Ok(result(
                MutationStatus::Rejected,
                Some("mutation_id_reused"),
                Some("This change id was already used for another change".into()),
                None,
            ));
        }
        return duplicate(
            tx,
            tenant,
            m,
            result(MutationStatus::Duplicate, None, None, None),
        )
        .await;
    }
    if ctx.blocked.contains(&m.order_id) {
        // an order's changes apply in order: this one waits behind the refused one
        return Ok(result(
            MutationStatus::Skipped,
            Some("waiting_for_earlier"),
            Some("An earlier change of this order was not applied".into()),
            None,
        ));
    }
    ctx.seen.insert(m.mutation_id, Some(body_hash(m)));
    let outcome = apply_one_unblocked(s, tx, ctx, tenant, device, m, &result).await?;
    if matches!(
        outcome.status,
        MutationStatus::Rejected | MutationStatus::Conflict
    ) {
        ctx.blocked.insert(m.order_id);
    }
    Ok(outcome)
}

/// Makes a mutation's answer: status, code, reason, the server's current state.
type ResultOf<'a> = dyn Fn(MutationStatus, Option<&str>, Option<String>, Option<serde_json::Value>) -> MutationResult
    + Send
    + Sync
    + 'a;

#[allow(clippy::too_many_arguments)]
async fn apply_one_unblocked(
    s: &AppState,
    tx: &mut Tx,
    ctx: &mut PushContext,
    tenant: Uuid,
    device: Uuid,
    m: &Mutation,
    result: &ResultOf<'_>,
) -> ApiResult<MutationResult> {
    if !ctx.savepoints {
        // Rules are checked before any write, so a refusal leaves nothing to undo.
        return Ok(match apply(s, tx, ctx, tenant, device, m).await? {
            Outcome::Applied => {
                record_applied(tx, tenant, device, m).await?;
                result(MutationStatus::Applied, None, None, None)
            }
            Outcome::Renumbered(n) => {
                record_applied(tx, tenant, device, m).await?;
                MutationResult {
                    order_number: Some(n),
                    ..result(MutationStatus::Applied, None, None, None)
                }
            }
            Outcome::Rejected(code, reason) => {
                result(MutationStatus::Rejected, Some(&code), Some(reason), None)
            }
            Outcome::Conflict(reason, current) => result(
                MutationStatus::Conflict,
                Some("conflict"),
                Some(reason),
                Some(current),
            ),
        });
    }
    tx.savepoint().await?;
    let outcome = match apply(s, tx, ctx, tenant, device, m).await {
        Ok(o @ (Outcome::Applied | Outcome::Renumbered(_))) => {
            let recorded = sqlx::query("INSERT INTO sync_mutations (tenant_id, mutation_id, device_id, seq, result, body_hash) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(tenant)
                .bind(m.mutation_id)
                .bind(device)
                .bind(m.seq as i64)
                .bind(json!({"status": "applied"}))
                .bind(body_hash(m))
                .execute(&mut **tx)
                .await;
            match recorded {
                Ok(_) => o,
                // a concurrent push of the same mutation committed first
                Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
                    tx.rollback_to_savepoint().await?;
                    tx.release_savepoint().await?;
                    return duplicate(
                        tx,
                        tenant,
                        m,
                        result(MutationStatus::Duplicate, None, None, None),
                    )
                    .await;
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(other) => other,
        // A mutation that breaks a database rule is refused on its own, not the whole push:
        // one bad mutation never blocks the queue.
        Err(ApiError::Internal(msg)) => {
            tracing::warn!(mutation = %m.mutation_id, error = %msg, "mutation could not be applied");
            Outcome::Rejected(
                "not_applicable".into(),
                "The server could not apply this change".into(),
            )
        }
        Err(e) => return Err(e),
    };
    if !matches!(outcome, Outcome::Applied | Outcome::Renumbered(_)) {
        // Refused: undo whatever the mutation wrote before it was refused.
        tx.rollback_to_savepoint().await?;
    }
    tx.release_savepoint().await?;
    Ok(match outcome {
        Outcome::Applied => result(MutationStatus::Applied, None, None, None),
        Outcome::Renumbered(n) => MutationResult {
            order_number: Some(n),
            ..result(MutationStatus::Applied, None, None, None)
        },
        Outcome::Rejected(code, reason) => {
            result(MutationStatus::Rejected, Some(&code), Some(reason), None)
        }
        Outcome::Conflict(reason, current) => result(
            MutationStatus::Conflict,
            Some("conflict"),
            Some(reason),
            Some(current),
        ),
    })
}

/// The answer to a mutation already applied: for a new order, the number it has (the first
/// answer may have been lost, and the service may have given it another number).
async fn duplicate(
    tx: &mut Tx,
    tenant: Uuid,
    m: &Mutation,
    mut r: MutationResult,
) -> ApiResult<MutationResult> {
    if let MutationBody::OrderCreated { order } = &m.body {
        let n: Option<String> =
            sqlx::query_scalar("SELECT order_number FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(order.id.0)
                .fetch_optional(&mut **tx)
                .await?;
        r.order_number = n.filter(|n| *n != order.order_number);
    }
    Ok(r)
}

/// What a mutation id names: the SHA-256 of the order, actor and change it carries.
fn body_hash(m: &Mutation) -> Vec<u8> {
    use sha2::Digest;
    let bytes = serde_json::to_vec(&(m.order_id, m.actor_id, &m.body)).unwrap_or_default();
    sha2::Sha256::digest(bytes).to_vec()
}

async fn record_applied(tx: &mut Tx, tenant: Uuid, device: Uuid, m: &Mutation) -> ApiResult<()> {
    sqlx::query("INSERT INTO sync_mutations (tenant_id, mutation_id, device_id, seq, result, body_hash) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(tenant)
        .bind(m.mutation_id)
        .bind(device)
        .bind(m.seq as i64)
        .bind(json!({"status": "applied"}))
        .bind(body_hash(m))
        .execute(&mut **tx)
        .await?;
    Ok(())
}

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

async fn apply(
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

/// A device's new order, re-checked: customer rules, totals from the items, the schedule from
/// the terms.
async fn insert_order(
    s: &AppState,
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    o: &OrderSnapshot,
) -> ApiResult<Outcome> {
    let currency = s.currency(tx, tenant).await?;
    if o.currency != currency {
        return Ok(rejected(
            "currency_mismatch",
            format!(
                "The order is in {}, the shop keeps its books in {}",
                o.currency.code(),
                currency.code()
            ),
        ));
    }
    let customer = match o.customer.clone().validated(o.channel) {
        Ok(c) => c,
        Err(e) => return Ok(rejected("invalid_customer", e.to_string())),
    };
    let notes = match pos_domain::text::notes(o.notes.clone()) {
        Ok(n) => n,
        Err(e) => return Ok(rejected("invalid_text", e.to_string())),
    };
    let inputs: Vec<ItemInput> = o.items.iter().map(LineItem::to_input).collect();
    let (items, totals) = match price_items(inputs, Some(o.totals.discount), o.currency) {
        Ok(v) => v,
        Err(e) => return Ok(rejected("invalid_items", e.to_string())),
    };
    if totals != o.totals {
        return Ok(rejected(
            "totals_mismatch",
            "Totals do not follow from the items",
        ));
    }
    match pos_domain::schedule::generate(
        &o.payment_terms,
        totals.total,
        o.currency,
        o.business_date,
    ) {
        Ok(sched) if sched == o.schedule => {}
        Ok(_) => {
            return Ok(rejected(
                "schedule_mismatch",
                "The schedule does not follow from the terms",
            ))
        }
        Err(e) => return Ok(rejected("invalid_terms", e.to_string())),
    }
    let mut number = assign_number(tx, tenant, device, o).await?;
    // A counter's clock can be wrong: a creation time in the future of the service's own is
    // not believed (the counter's claim is kept beside it).
    let received = s.now();
    let created_at = if o.created_at > received + chrono::Duration::minutes(CLOCK_TOLERANCE_MINUTES)
    {
        received
    } else {
        o.created_at
    };
    let ids = o.id.to_string();
    let sealed = crate::pii::seal(&s.cipher, &ids, &customer, notes.as_deref());
    let crate::pii::SearchKeys {
        phone_index,
        email_index,
        tokens,
    } = crate::pii::search_keys(&s.cipher, &customer)?;
    // Twice at most: a number taken meanwhile by a concurrent push gets the next free one.
    for attempt in 0..2 {
        let inserted = sqlx::query(
            "INSERT INTO orders (tenant_id, id, order_number, channel, status, currency, customer_name, customer_phone,
                customer_email, customer_address, notes, phone_index, email_index, name_tokens, items, schedule, terms,
                subtotal_minor, discount_minor, total_minor, paid_minor, business_date, device_id, recorded_by_user_id,
                last_modified_by_user_id, created_at, updated_at, version, counter_number, claimed_created_at, received_at)
             VALUES ($1, $2, $3, $4, $25, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, 0, $20, $21, $22, $22, $23, $23, $24, $26, $27, $28)
             ON CONFLICT DO NOTHING",
        )
        .bind(tenant).bind(o.id.0).bind(&number).bind(o.channel.as_str()).bind(o.currency.code())
        .bind(&sealed.name).bind(&sealed.phone).bind(&sealed.email).bind(&sealed.address).bind(&sealed.notes)
        .bind(&phone_index).bind(&email_index).bind(&tokens)
        .bind(serde_json::to_value(&items).unwrap_or_default())
        .bind(serde_json::to_value(&o.schedule).unwrap_or_default())
        .bind(serde_json::to_value(&o.payment_terms).unwrap_or_default())
        .bind(totals.subtotal.to_minor(o.currency)).bind(totals.discount.to_minor(o.currency)).bind(totals.total.to_minor(o.currency))
        .bind(o.business_date).bind(device).bind(o.recorded_by.0).bind(created_at).bind(o.version as i32)
        .bind(if totals.total.is_zero() { "paid" } else { "pending" })
        .bind((number != o.order_number).then_some(&o.order_number)).bind(o.created_at).bind(received)
        .execute(&mut **tx)
        .await?;
        if inserted.rows_affected() == 1 {
            break;
        }
        // The same order, written by a concurrent push of this very mutation: answer as it has it.
        let existing: Option<String> =
            sqlx::query_scalar("SELECT order_number FROM orders WHERE tenant_id = $1 AND id = $2")
                .bind(tenant)
                .bind(o.id.0)
                .fetch_optional(&mut **tx)
                .await?;
        if let Some(n) = existing {
            return Ok(if n == o.order_number {
                Outcome::Applied
            } else {
                Outcome::Renumbered(n)
            });
        }
        if attempt == 1 {
            return Ok(rejected(
                "order_number_taken",
                format!("Order number {number} is already used in this shop"),
            ));
        }
        number = assign_number(tx, tenant, device, o).await?;
    }

    tx.outbox(DomainEvent::OrderCreated(events::OrderCreated {
        order_id: o.id.0,
        order_number: number.clone(),
        total: totals.total,
        device_id: Some(device),
    }));
    Ok(if number == o.order_number {
        Outcome::Applied
    } else {
        Outcome::Renumbered(number)
    })
}

/// How far in the future of the service's clock a counter's claimed time may be (minutes).
const CLOCK_TOLERANCE_MINUTES: i64 = 5;

/// The number a pushed order is stored under: the counter's own, when it is of that counter's
/// series and free; otherwise (a counter restored from an older copy gave it again, or it is
/// not of the counter's series) the first free `<code>-<yyyymmdd>-R<nnn>` of that day. No number
/// is ever given twice in a tenant, and no collision stops an order.
async fn assign_number(
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    o: &OrderSnapshot,
) -> ApiResult<String> {
    let code: String =
        sqlx::query_scalar("SELECT device_code FROM devices WHERE tenant_id = $1 AND id = $2")
            .bind(tenant)
            .bind(device)
            .fetch_optional(&mut **tx)
            .await?
            .unwrap_or_else(|| "DEV".into());
    if o.order_number.starts_with(&format!("{code}-"))
        && !number_taken(tx, tenant, &o.order_number).await?
    {
        return Ok(o.order_number.clone());
    }
    let base = format!("{code}-{}-R", o.business_date.format("%Y%m%d"));
    let used: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM orders WHERE tenant_id = $1 AND order_number LIKE $2",
    )
    .bind(tenant)
    .bind(format!("{base}%"))
    .fetch_one(&mut **tx)
    .await?;
    let mut k = used + 1;
    loop {
        let n = format!("{base}{k:03}");
        if !number_taken(tx, tenant, &n).await? {
            return Ok(n);
        }
        k += 1;
    }
}

async fn number_taken(tx: &mut Tx, tenant: Uuid, n: &str) -> ApiResult<bool> {
    Ok(sqlx::query_scalar(
        "SELECT EXISTS (SELECT 1 FROM orders WHERE tenant_id = $1 AND order_number = $2)",
    )
    .bind(tenant)
    .bind(n)
    .fetch_one(&mut **tx)
    .await?)
}

/// Stores the events that continue the device's chain, in one transaction; refuses the first
/// that does not and everything after it.
async fn store_audit(
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

#[derive(serde::Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PullParams {
    #[serde(default)]
    pub cursor: i64,
    pub limit: Option<i64>,
}

/// `GET /sync/pull?cursor=`: what changed centrally since the cursor and did not come from this
/// device (payments, updates, completions, deletions, each with the order's current totals),
/// the staff roster with PIN verifiers, and the server time.
#[utoipa::path(
    get,
    path = "/sync/pull",
    tag = "sync",
    params(PullParams),
    responses((status = 200, description = "central changes since the cursor, the roster and the server time", body = Object)),
    security(("bearer" = []))
)]
pub async fn pull(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<PullParams>,
) -> ApiResult<Json<pos_protocol::PullResponse>> {
    if auth.0.kind != "device" {
        return Err(ApiError::Forbidden("Only a paired device pulls".into()));
    }
    let tenant = auth.tenant();
    let device = auth.user();
    let limit = p.limit.unwrap_or(500).clamp(1, 5000);
    let mut tx = s.tx(tenant).await?;
    let rows = sqlx::query(
        // one query: each change with its order's state, its ledger entry and its deletion
        "SELECT e.seq, e.event_type, e.aggregate_id, e.payload->>'device_id' AS from_device,
                o.status, o.total_minor, o.paid_minor, o.version, o.currency,
                o.deleted_by, o.deleted_at, o.delete_reason, o.approved_by, o.approver_role, o.approved_at,
                p.id AS payment_id, p.order_id AS payment_order, p.amount_minor, p.method, p.paid_at,
                p.recorded_by, p.reference, p.reverses, p.approved_by AS p_approved_by,
                p.approver_role AS p_approver_role, p.approval_reason AS p_approval_reason,
                p.approved_at AS p_approved_at
         FROM outbox_events e
         JOIN orders o ON o.tenant_id = e.tenant_id AND o.id = e.aggregate_id
         LEFT JOIN payments p ON p.tenant_id = e.tenant_id AND p.id = (e.payload->>'payment_id')::uuid
         WHERE e.tenant_id = $1 AND e.seq > $2 ORDER BY e.seq LIMIT $3",
    )
    .bind(tenant)
    .bind(p.cursor)
    .bind(limit)
    .fetch_all(&mut *tx)
    .await?;
    let mut next = p.cursor;
    let mut changes = Vec::new();
    for r in &rows {
        next = r.get::<i64, _>("seq");
        if r.get::<Option<String>, _>("from_device") == Some(device.to_string()) {
            continue;
        }
        let currency: Currency = r
            .get::<String, _>("currency")
            .parse()
            .map_err(|_| ApiError::Internal("currency".into()))?;
        let status: OrderStatus = r
            .get::<String, _>("status")
            .parse()
            .map_err(|_| ApiError::Internal("status".into()))?;
        let order_id: Uuid = r.get("aggregate_id");
        let payment = match r.get::<Option<Uuid>, _>("payment_id") {
            Some(pid) => Some(PaymentRecord {
                id: pos_domain::PaymentId(pid),
                order_id: pos_domain::OrderId(r.get("payment_order")),
                amount: currency.from_minor(r.get("amount_minor")).0,
                method: r
                    .get::<String, _>("method")
                    .parse()
                    .map_err(|_| ApiError::Internal("payment method".into()))?,
                paid_at: r.get("paid_at"),
                recorded_by: pos_domain::StaffId(r.get("recorded_by")),
                reference: r.get("reference"),
                reverses: r
                    .get::<Option<Uuid>, _>("reverses")
                    .map(pos_domain::PaymentId),
            }),
            None => None,
        };
        let change = pos_protocol::CentralChange {
            seq: next,
            kind: r.get("event_type"),
            order_id: pos_domain::OrderId(order_id),
            order: pos_protocol::CentralOrderState {
                status,
                total: currency.from_minor(r.get("total_minor")).0,
                paid: currency.from_minor(r.get("paid_minor")).0,
                version: r.get::<i32, _>("version") as u32,
            },
            reversal_approval: payment
                .as_ref()
                .and_then(|p| reversal_approval_of(&s, r, p.id.0)),
            payment,
            deletion: deletion_of(&s, r, order_id),
        };
        changes.push(change);
    }
    let roster: Vec<pos_protocol::StaffRecord> = sqlx::query("SELECT id, name, role, pin_hash, active FROM users WHERE tenant_id = $1 ORDER BY created_at")
        .bind(tenant)
        .fetch_all(&mut *tx)
        .await?
        .iter()
        .filter_map(|u| {
            Some(pos_protocol::StaffRecord {
                id: pos_domain::StaffId(u.get("id")),
                name: u.get("name"),
                role: u.get::<String, _>("role").parse().ok()?,
                pin_verifier: u.get("pin_hash"),
                active: u.get("active"),
            })
        })
        .collect();
    let zone = s.settings(&mut tx, tenant).await?.zone;
    let mut ids: Vec<Uuid> = changes.iter().map(|c| c.order_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut orders = central_orders(&s, &mut tx, tenant, device, &ids).await?;
    // A page carries at most PULL_ORDERS_BYTES of whole orders (at least one change): a page
    // of large orders ends early, the rest comes with the next.
    let sizes: HashMap<Uuid, usize> = orders
        .iter()
        .map(|o| (o.id.0, serde_json::to_vec(o).map(|b| b.len()).unwrap_or(0)))
        .collect();
    let mut used = 0usize;
    let mut counted = std::collections::HashSet::new();
    let mut keep = changes.len();
    for (i, c) in changes.iter().enumerate() {
        if counted.insert(c.order_id.0) {
            used += sizes.get(&c.order_id.0).copied().unwrap_or(0);
        }
        if used > PULL_ORDERS_BYTES && i > 0 {
            keep = i;
            break;
        }
    }
    if keep < changes.len() {
        changes.truncate(keep);
        next = changes.last().map_or(next, |c| c.seq);
        let kept: std::collections::HashSet<Uuid> = changes.iter().map(|c| c.order_id.0).collect();
        orders.retain(|o| kept.contains(&o.id.0));
    }
    audit_orders_sent(&mut tx, device, orders.len());
    tx.commit().await?;
    Ok(Json(pos_protocol::PullResponse {
        changes,
        next_cursor: next,
        roster,
        server_time: s.now(),
        time_zone: Some(zone.name().into()),
        orders,
    }))
}

/// `POST /sync/orders`: the service's state of the orders a paired counter names (at most
/// [`pos_protocol::MAX_ORDERS_PER_REQUEST`]), so it converges to them.
#[utoipa::path(
    post,
    path = "/sync/orders",
    tag = "sync",
    request_body = Object,
    responses((status = 200, description = "{orders}: the named orders as the service holds them", body = Object)),
    security(("bearer" = []))
)]
pub async fn orders(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiJson(req): crate::extract::ApiJson<pos_protocol::OrdersRequest>,
) -> ApiResult<Json<pos_protocol::OrdersResponse>> {
    if auth.0.kind != "device" {
        return Err(ApiError::Forbidden(
            "Only a paired device asks for its orders".into(),
        ));
    }
    if req.ids.len() > pos_protocol::MAX_ORDERS_PER_REQUEST {
        return Err(pos_domain::ValidationError::new(
            "ids",
            "too_many",
            format!(
                "At most {} orders per request",
                pos_protocol::MAX_ORDERS_PER_REQUEST
            ),
        )
        .into());
    }
    let tenant = auth.tenant();
    let ids: Vec<Uuid> = req.ids.iter().map(|i| i.0).collect();
    let device = auth.user();
    let mut tx = s.tx(tenant).await?;
    let orders = central_orders(&s, &mut tx, tenant, device, &ids).await?;
    audit_orders_sent(&mut tx, device, orders.len());
    tx.commit().await?;
    Ok(Json(pos_protocol::OrdersResponse { orders }))
}

/// Audits whole orders sent to a counter (they carry its customers' details).
fn audit_orders_sent(tx: &mut Tx, device: Uuid, n: usize) {
    if n > 0 {
        audit::record(
            tx,
            Event::new(
                (device, Role::Cashier),
                pos_protocol::AuditAction::Access,
                "order",
                None,
                "sync.orders_sent",
            )
            .detail(format!("device={device} orders={n}")),
        );
    }
}

/// Most bytes of whole orders one pull page carries.
const PULL_ORDERS_BYTES: usize = 4 * 1024 * 1024;

/// Orders `ids` of `tenant` that `device` recorded, as the service holds them now, whole
/// (customer decrypted for that counter, which holds the order already; the ledger with the
/// approvals of reversals; the deletion). Other orders are never sent to a counter.
async fn central_orders(
    s: &AppState,
    tx: &mut Tx,
    tenant: Uuid,
    device: Uuid,
    ids: &[Uuid],
) -> ApiResult<Vec<pos_protocol::CentralOrder>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let rows = sqlx::query(
        "SELECT * FROM orders WHERE tenant_id = $1 AND id = ANY($2) AND device_id = $3 ORDER BY id",
    )
    .bind(tenant)
    .bind(ids)
    .bind(device)
    .fetch_all(&mut **tx)
    .await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.get("id")).collect();
    let ids = ids.as_slice();
    let pays = sqlx::query(
        "SELECT p.id AS payment_id, p.order_id AS payment_order, p.amount_minor, p.method, p.paid_at,
                p.recorded_by, p.reference, p.reverses, p.approved_by AS p_approved_by,
                p.approver_role AS p_approver_role, p.approval_reason AS p_approval_reason,
                p.approved_at AS p_approved_at
         FROM payments p WHERE tenant_id = $1 AND order_id = ANY($2) ORDER BY created_at, id",
    )
    .bind(tenant)
    .bind(ids)
    .fetch_all(&mut **tx)
    .await?;
    let mut by_order: HashMap<Uuid, Vec<&sqlx::postgres::PgRow>> = HashMap::new();
    for p in &pays {
        by_order.entry(p.get("payment_order")).or_default().push(p);
    }
    let mut out = Vec::with_capacity(rows.len());
    for r in &rows {
        let id: Uuid = r.get("id");
        let ids = id.to_string();
        let open = |col: &str| -> ApiResult<Option<String>> {
            r.get::<Option<Vec<u8>>, _>(col)
                .map(|b| {
                    s.cipher
                        .decrypt_string(&b, crate::orders::aad(&ids, col))
                        .ok_or_else(|| ApiError::Internal("decrypt".into()))
                })
                .transpose()
        };
        let currency: Currency = r
            .get::<String, _>("currency")
            .parse()
            .map_err(|_| ApiError::Internal("currency".into()))?;
        let m = |col: &str| currency.from_minor(r.get::<i64, _>(col));
        let mut payments = Vec::new();
        for p in by_order.get(&id).map(Vec::as_slice).unwrap_or_default() {
            let pid: Uuid = p.get("payment_id");
            payments.push(pos_protocol::CentralPayment {
                payment: PaymentRecord {
                    id: pos_domain::PaymentId(pid),
                    order_id: pos_domain::OrderId(id),
                    amount: currency.from_minor(p.get("amount_minor")).0,
                    method: p
                        .get::<String, _>("method")
                        .parse()
                        .map_err(|_| ApiError::Internal("payment method".into()))?,
                    paid_at: p.get("paid_at"),
                    recorded_by: pos_domain::StaffId(p.get("recorded_by")),
                    reference: p.get("reference"),
                    reverses: p
                        .get::<Option<Uuid>, _>("reverses")
                        .map(pos_domain::PaymentId),
                },
                approval: reversal_approval_of(s, p, pid),
            });
        }
        out.push(pos_protocol::CentralOrder {
            id: pos_domain::OrderId(id),
            order_number: r.get("order_number"),
            status: r
                .get::<String, _>("status")
                .parse()
                .map_err(|_| ApiError::Internal("status".into()))?,
            version: r.get::<i32, _>("version") as u32,
            customer: pos_domain::Customer {
                name: open("customer_name")?.unwrap_or_default(),
                phone: open("customer_phone")?,
                email: open("customer_email")?,
                address: open("customer_address")?,
            },
            items: crate::orders::json_column(r, "items")?,
            totals: pos_domain::Totals {
                subtotal: m("subtotal_minor"),
                discount: m("discount_minor"),
                total: m("total_minor"),
            },
            notes: open("notes")?,
            schedule: crate::orders::json_column(r, "schedule")?,
            paid: m("paid_minor").0,
            completed_at: r.get("completed_at"),
            deletion: deletion_of(s, r, id),
            payments,
        });
    }
    Ok(out)
}

/// Who approved a pulled reversing entry, and why (the reason decrypted for the paired
/// counter, which stores it encrypted under its own key).
fn reversal_approval_of(
    s: &AppState,
    r: &sqlx::postgres::PgRow,
    payment: Uuid,
) -> Option<pos_protocol::Approval> {
    let (Some(approver), Some(role)) = (
        r.get::<Option<Uuid>, _>("p_approved_by"),
        r.get::<Option<String>, _>("p_approver_role")
            .and_then(|v| v.parse::<Role>().ok()),
    ) else {
        return None;
    };
    let ids = payment.to_string();
    let reason = r
        .get::<Option<Vec<u8>>, _>("p_approval_reason")
        .and_then(|b| {
            s.cipher.decrypt_string(
                &b,
                Aad {
                    table: "payments",
                    record_id: &ids,
                    field: "approval_reason",
                },
            )
        })
        .unwrap_or_default();
    Some(pos_protocol::Approval {
        approver_id: pos_domain::StaffId(approver),
        approver_role: role,
        reason,
        approved_at: r
            .get::<Option<chrono::DateTime<Utc>>, _>("p_approved_at")
            .unwrap_or_else(|| r.get("paid_at")),
    })
}

/// Who deleted an order and who approved it, from a pull row (the reason decrypted for the
/// paired counter, which stores it encrypted under its own key).
fn deletion_of(
    s: &AppState,
    r: &sqlx::postgres::PgRow,
    order: Uuid,
) -> Option<pos_protocol::CentralDeletion> {
    let (Some(by), Some(approver), Some(role), Some(at), Some(approved_at)) = (
        r.get::<Option<Uuid>, _>("deleted_by"),
        r.get::<Option<Uuid>, _>("approved_by"),
        r.get::<Option<String>, _>("approver_role")
            .and_then(|v| v.parse::<Role>().ok()),
        r.get::<Option<chrono::DateTime<Utc>>, _>("deleted_at"),
        r.get::<Option<chrono::DateTime<Utc>>, _>("approved_at"),
    ) else {
        return None;
    };
    let ids = order.to_string();
    let reason = r
        .get::<Option<Vec<u8>>, _>("delete_reason")
        .and_then(|b| {
            s.cipher.decrypt_string(
                &b,
                Aad {
                    table: "orders",
                    record_id: &ids,
                    field: "delete_reason",
                },
            )
        })
        .unwrap_or_default();
    Some(pos_protocol::CentralDeletion {
        deleted_by: pos_domain::StaffId(by),
        deleted_at: at,
        approval: Approval {
            approver_id: pos_domain::StaffId(approver),
            approver_role: role,
            reason,
            approved_at,
        },
    })
}
