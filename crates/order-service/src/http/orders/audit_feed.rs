//! The audit log as the API serves it: `GET /audit-events` and the chain check
//! `GET /audit-events/verify`.

use super::AuditParams;
use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use pos_protocol::AuditAction;
use sqlx::Row;
use uuid::Uuid;

/// A page of audit events, newest first.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct AuditPage {
    pub items: Vec<pos_protocol::AuditEvent>,
}

/// Every chain of the tenant verified: each device's, and the service's own.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ChainCheck {
    /// Whether every chain verifies.
    pub ok: bool,
    pub devices: Vec<ChainVerdict>,
}

/// One chain's verdict.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct ChainVerdict {
    /// The chain: a counter's device id, or one of the service's own.
    pub device_id: Uuid,
    /// How many events it holds.
    pub events: usize,
    pub ok: bool,
    /// Where it breaks, and why (absent when it verifies).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_broken_seq: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[utoipa::path(
    get,
    path = "/audit-events",
    tag = "audit",
    params(AuditParams),
    responses((status = 200, description = "audit events, newest first", body = AuditPage)),
    security(("bearer" = []))
)]
pub async fn audit_events(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiQuery(p): crate::extract::ApiQuery<AuditParams>,
) -> ApiResult<axum::Json<AuditPage>> {
    auth.require_approver("read the audit log")?;
    let tenant = auth.tenant();
    let limit = p.limit.unwrap_or(100).clamp(1, 1000);
    let mut qb =
        sqlx::QueryBuilder::<sqlx::Postgres>::new("SELECT * FROM audit_events WHERE tenant_id = ");
    qb.push_bind(tenant);
    if let Some(t) = p.entity_type {
        qb.push(" AND entity_type = ").push_bind(t);
    }
    if let Some(e) = p.entity_id {
        qb.push(" AND entity_id = ").push_bind(e);
    }
    if let Some(a) = p.actor_id {
        qb.push(" AND actor_id = ").push_bind(a);
    }
    if let Some(a) = p.action {
        qb.push(" AND action = ").push_bind(a.as_str());
    }
    if let Some(d) = p.device_id {
        qb.push(" AND device_id = ").push_bind(d);
    }
    if let Some(from) = p.from {
        qb.push(" AND at >= ").push_bind(from);
    }
    if let Some(to) = p.to {
        qb.push(" AND at < ").push_bind(to);
    }
    qb.push(" ORDER BY at DESC, seq DESC LIMIT ")
        .push_bind(limit);
    let mut tx = s.tx(tenant).await?;
    let rows = qb.build().fetch_all(&mut *tx).await?;
    let events: Vec<_> = rows.iter().filter_map(audit::row_to_event).collect();
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "audit_log",
            None,
            "audit.list",
        )
        .detail(format!("results={}", events.len())),
    );
    tx.commit().await?;
    Ok(axum::Json(AuditPage { items: events }))
}

#[utoipa::path(
    get,
    path = "/audit-events/verify",
    tag = "audit",
    responses((status = 200, description = "the chain check per device", body = ChainCheck)),
    security(("bearer" = []))
)]
pub async fn audit_verify(
    State(s): State<AppState>,
    auth: Auth,
) -> ApiResult<axum::Json<ChainCheck>> {
    auth.require_approver("verify the audit log")?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let rows =
        sqlx::query("SELECT * FROM audit_events WHERE tenant_id = $1 ORDER BY device_id, seq")
            .bind(tenant)
            .fetch_all(&mut *tx)
            .await?;
    // Each device's chain (the service's own under the tenant id) is verified on its own.
    let mut chains: std::collections::BTreeMap<Uuid, Vec<&sqlx::postgres::PgRow>> =
        Default::default();
    for r in &rows {
        chains.entry(r.get("device_id")).or_default().push(r);
    }
    let mut devices = Vec::with_capacity(chains.len());
    let mut broken = 0;
    for (device, rows) in chains {
        // A row that does not even read as an event breaks the chain where it stands.
        let verdict = rows
            .iter()
            .map(|r| {
                audit::row_to_event(r).ok_or_else(|| pos_protocol::ChainBreak {
                    seq: r.get::<i64, _>("seq") as u64,
                    reason: "the stored event is malformed".into(),
                })
            })
            .collect::<Result<Vec<_>, _>>()
            .and_then(|events| pos_protocol::verify_chain(&events, 0, pos_protocol::GENESIS_HASH));
        let (first_broken_seq, reason) = match verdict {
            Ok(_) => (None, None),
            Err(b) => {
                broken += 1;
                (Some(b.seq), Some(b.reason))
            }
        };
        devices.push(ChainVerdict {
            device_id: device,
            events: rows.len(),
            ok: first_broken_seq.is_none(),
            first_broken_seq,
            reason,
        });
    }
    let ok = broken == 0;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "audit_log",
            None,
            "audit.verify",
        )
        .detail(if ok { "ok" } else { "broken" }),
    );
    tx.commit().await?;
    Ok(axum::Json(ChainCheck { ok, devices }))
}
