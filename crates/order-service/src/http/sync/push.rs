//! `POST /sync/push`: the batch in one transaction, each mutation answered on its own —
//! replays, refusals that block an order's later changes, the careful savepoint pass.

use super::apply::apply;
use super::audit_chain::store_audit;
use super::{Outcome, PushContext};
use crate::auth::Auth;
use crate::db::Tx;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use pos_protocol::{
    Mutation, MutationBody, MutationResult, MutationStatus, PushRequest, PushResponse,
};
use serde_json::json;
use std::collections::HashMap;
use uuid::Uuid;

/// Most mutations accepted in one push.
pub const MAX_BATCH: usize = 2000;

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
            params: Default::default(),
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
    let refused = results
        .iter()
        .filter(|r| {
            matches!(
                r.status,
                MutationStatus::Rejected | MutationStatus::Conflict
            )
        })
        .count();
    // a push of audit events alone leaves the last changes' figures as they were
    if !results.is_empty() {
        crate::db::devices::record_push(&mut tx, tenant, device, s.now(), (results.len(), refused))
            .await?;
    }
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
        let hash = body_hash(m)?;
        if stored.as_ref().is_some_and(|h| *h != hash) {
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
    ctx.seen.insert(m.mutation_id, Some(body_hash(m)?));
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
                .bind(body_hash(m)?)
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
fn body_hash(m: &Mutation) -> ApiResult<Vec<u8>> {
    use sha2::Digest;
    let bytes = serde_json::to_vec(&(m.order_id, m.actor_id, &m.body))
        .map_err(|e| ApiError::Internal(format!("mutation body: {e}")))?;
    Ok(sha2::Sha256::digest(bytes).to_vec())
}

async fn record_applied(tx: &mut Tx, tenant: Uuid, device: Uuid, m: &Mutation) -> ApiResult<()> {
    sqlx::query("INSERT INTO sync_mutations (tenant_id, mutation_id, device_id, seq, result, body_hash) VALUES ($1, $2, $3, $4, $5, $6)")
        .bind(tenant)
        .bind(m.mutation_id)
        .bind(device)
        .bind(m.seq as i64)
        .bind(json!({"status": "applied"}))
        .bind(body_hash(m)?)
        .execute(&mut **tx)
        .await?;
    Ok(())
}
