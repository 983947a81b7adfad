//! Device pairing: an owner or manager makes a short-lived one-time code; a counter pairs with
//! it (its local staff are adopted into the roster) and gets a device secret, shown once, that
//! it trades for short-lived device tokens.

use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use base64::Engine;
use pos_domain::{Role, ValidationError};
use pos_protocol::{AuditAction, DeviceTokenRequest, PairRequest, PairResponse};
use rand::RngCore;
use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// Pairing codes live this long.
pub const PAIRING_CODE_MINUTES: i64 = 10;
const CODE_ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789";

fn code_hash(s: &AppState, code: &str) -> Vec<u8> {
    let normalized: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_uppercase();
    s.cipher.blind_index("pairing_code", &normalized)
}

fn secret_hash(secret: &str) -> String {
    hex::encode(Sha256::digest(secret.as_bytes()))
}

/// A one-time pairing code and when it stops working.
#[derive(Serialize, utoipa::ToSchema)]
pub struct PairingCode {
    pub code: String,
    pub expires_at: chrono::DateTime<chrono::Utc>,
    /// Seconds it works for from now (by the service's clock: a screen counts down from this,
    /// whatever its own clock says).
    pub expires_in: i64,
}

/// `POST /devices/pairing-codes` (owner, manager) → `{code, expires_at}`.
#[utoipa::path(
    post,
    path = "/devices/pairing-codes",
    tag = "devices",
    responses((status = 201, description = "a one-time pairing code", body = PairingCode)),
    security(("bearer" = []))
)]
pub async fn pairing_code(
    State(s): State<AppState>,
    auth: Auth,
) -> ApiResult<(StatusCode, Json<PairingCode>)> {
    auth.require_approver("pair devices")?;
    let mut raw = [0u8; 10];
    rand::rngs::OsRng.fill_bytes(&mut raw);
    let code: String = raw
        .iter()
        .map(|b| CODE_ALPHABET[(*b as usize) % CODE_ALPHABET.len()] as char)
        .collect();
    let expires = s.now() + chrono::Duration::minutes(PAIRING_CODE_MINUTES);
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    sqlx::query("INSERT INTO pairing_codes (tenant_id, code_hash, created_by, expires_at) VALUES ($1, $2, $3, $4)")
        .bind(tenant)
        .bind(code_hash(&s, &code))
        .bind(auth.user())
        .bind(expires)
        .execute(&mut *tx)
        .await?;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Create,
            "device",
            None,
            "device.pairing_code",
        ),
    );
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(PairingCode {
            code,
            expires_at: expires,
            expires_in: PAIRING_CODE_MINUTES * 60,
        }),
    ))
}

/// `POST /devices/pair` with a code → device id and secret (shown once).
#[utoipa::path(
    post,
    path = "/devices/pair",
    tag = "devices",
    request_body = Object,
    responses((status = 201, description = "the device id and secret (shown once)", body = Object)),
    security(())
)]
pub async fn pair(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<PairRequest>,
) -> ApiResult<(StatusCode, Json<PairResponse>)> {
    let device_code = req.device_code.trim().to_uppercase();
    if device_code.is_empty()
        || device_code.len() > 8
        || !device_code.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(ValidationError::new(
            "device_code",
            "invalid_device_code",
            "Counter code must be 1 to 8 letters or digits",
        )
        .into());
    }
    if device_code == crate::orders::API_NUMBER_PREFIX {
        return Err(ValidationError::new(
            "device_code",
            "device_code_reserved",
            "Counter code API is reserved for orders taken through the API",
        )
        .into());
    }
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ValidationError::new(
            "name",
            "required",
            "Device name is required (at most 80 characters)",
        )
        .into());
    }
    let hash = code_hash(&s, &req.code);
    let tenant: Option<Uuid> = sqlx::query_scalar("SELECT tenant_of_pairing_code($1, $2)")
        .bind(&hash)
        .bind(s.now())
        .fetch_one(&s.pool)
        .await?;
    let tenant = tenant.ok_or(ApiError::NotFound)?;
    let mut tx = s.tx(tenant).await?;
    // Checked before the code is used up, so the right counter can still pair with it.
    let currency = s.currency(&mut tx, tenant).await?;
    if req.currency != currency {
        return Err(ApiError::Conflict {
            code: "currency_mismatch",
            message: format!(
                "This counter keeps its books in {}, the shop in {}; set the counter up in {}",
                req.currency.code(),
                currency.code(),
                currency.code()
            ),
        });
    }
    // Who made the code, and so who pairs (an active user of the shop). Only an owner's code
    // brings a counter's approvers (owners and managers) into the shop as they are on the
    // counter (SPEC §4: the owner pairs): with a manager's code, each of them must already be
    // an active user here with the same role and PIN verifier — a re-pairing of a counter of
    // the shop — so a manager cannot make themselves, or anyone, an approver with a PIN they
    // chose. Cashiers join either way.
    let (paired_by, pairer_role): (Uuid, String) = sqlx::query_as(
        "SELECT c.created_by, u.role FROM pairing_codes c JOIN users u ON u.tenant_id = c.tenant_id AND u.id = c.created_by
         WHERE c.tenant_id = $1 AND c.code_hash = $2 AND c.used_at IS NULL AND c.expires_at > $3 AND u.active FOR UPDATE OF c",
    )
    .bind(tenant)
    .bind(&hash)
    .bind(s.now())
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound)?;
    let pairer_role: Role = pairer_role.parse().map_err(ApiError::Internal)?;
    if pairer_role != Role::Owner {
        let approvers: Vec<_> = req
            .staff
            .iter()
            .filter(|st| st.role.can_approve())
            .collect();
        let ids: Vec<Uuid> = approvers.iter().map(|st| st.id.0).collect();
        let roles: Vec<&str> = approvers.iter().map(|st| st.role.as_str()).collect();
        let verifiers: Vec<Option<&str>> = approvers
            .iter()
            .map(|st| st.pin_verifier.as_deref())
            .collect();
        let known: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM users u JOIN unnest($2::uuid[], $3::text[], $4::text[]) AS r (id, role, verifier)
               ON u.id = r.id AND u.role = r.role AND u.pin_hash IS NOT DISTINCT FROM r.verifier
             WHERE u.tenant_id = $1 AND u.active",
        )
        .bind(tenant)
        .bind(&ids)
        .bind(&roles)
        .bind(&verifiers)
        .fetch_one(&mut *tx)
        .await?;
        if known != approvers.len() as i64 {
            // the code stays unused: the owner can pair this counter with a code of their own
            return Err(ApiError::Conflict {
                code: "owner_code_required",
                message: "This counter's owners and managers are not all approvers of the shop here as they are on the counter: only a pairing code made by an owner can bring them in".into(),
            });
        }
    }
    sqlx::query("UPDATE pairing_codes SET used_at = $3 WHERE tenant_id = $1 AND code_hash = $2")
        .bind(tenant)
        .bind(&hash)
        .bind(s.now())
        .execute(&mut *tx)
        .await?;
    let device_id = req.device_id.unwrap_or_else(|| s.new_uuid());
    let mut secret = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let secret = base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(secret);
    // Re-pairing a counter of this shop (after an unpairing, or a reinstall that lost its
    // secret) keeps its id, and so its chain and mutations, with a new secret.
    sqlx::query("INSERT INTO devices (tenant_id, id, name, device_code, secret_hash, paired_by, paired_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (tenant_id, id) DO UPDATE SET name = EXCLUDED.name, device_code = EXCLUDED.device_code,
                     secret_hash = EXCLUDED.secret_hash, paired_by = EXCLUDED.paired_by, paired_at = EXCLUDED.paired_at, revoked_at = NULL")
        .bind(tenant)
        .bind(device_id)
        .bind(name)
        .bind(&device_code)
        .bind(secret_hash(&secret))
        .bind(paired_by)
        .bind(s.now())
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() && d.constraint() == Some("devices_id") => ApiError::Conflict { code: "device_id_in_use", message: "This device id is already paired".into() },
            sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::Conflict { code: "device_code_in_use", message: format!("Counter code {device_code} is used by another device of this shop") },
            other => other.into(),
        })?;
    for st in &req.staff {
        // Same id, role and verifier: the counter's owner is an owner of the shop too.
        let role = st.role;
        sqlx::query("INSERT INTO users (tenant_id, id, name, role, pin_hash, active) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (tenant_id, id) DO NOTHING")
            .bind(tenant)
            .bind(st.id.0)
            .bind(st.name.trim())
            .bind(role.as_str())
            .bind(&st.pin_verifier)
            .bind(st.active)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        NewEvent::by(
            (paired_by, pairer_role),
            AuditAction::Create,
            "device",
            Some(device_id.to_string()),
            "device.pair",
        )
        .detail(format!("code={device_code} staff={}", req.staff.len())),
    );
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(PairResponse {
            tenant_id: tenant,
            device_id,
            device_secret: secret,
        }),
    ))
}

/// `POST /auth/device-token`: device id + secret → a short-lived device token.
#[utoipa::path(
    post,
    path = "/auth/device-token",
    tag = "devices",
    request_body = Object,
    responses((status = 200, description = "a device access token", body = Object)),
    security(())
)]
pub async fn device_token(
    State(s): State<AppState>,
    ApiJson(req): ApiJson<DeviceTokenRequest>,
) -> ApiResult<Json<Value>> {
    let tenant: Option<Uuid> = sqlx::query_scalar("SELECT tenant_of_device($1)")
        .bind(req.device_id)
        .fetch_one(&s.pool)
        .await?;
    let tenant = tenant.ok_or(ApiError::Unauthorized)?;
    let mut tx = s.tx(tenant).await?;
    let stored: String = sqlx::query_scalar(
        "SELECT secret_hash FROM devices WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL",
    )
    .bind(tenant)
    .bind(req.device_id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::Unauthorized)?;
    let given = secret_hash(&req.device_secret);
    // constant-time comparison of the two hex digests
    let same = stored.len() == given.len()
        && stored
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0;
    if !same {
        audit::record(
            &mut tx,
            NewEvent {
                actor: None,
                action: AuditAction::Access,
                entity_type: "device",
                entity_id: Some(req.device_id.to_string()),
                operation: "device.token.failed",
                detail: None,
                fields: vec![],
            },
        );
        tx.commit().await?;
        return Err(ApiError::Unauthorized);
    }
    tx.commit().await?;
    Ok(Json(json!({
        "access_token": s.jwt.issue(req.device_id, tenant, Role::Cashier, "device", s.now())?,
        "token_type": "Bearer",
        "expires_in": crate::auth::TOKEN_TTL_SECONDS,
    })))
}

/// `GET /devices` (owner, manager): the shop's counters, with when each last pushed and pulled
/// and what its last push carried.
#[utoipa::path(
    get,
    path = "/devices",
    operation_id = "list_counters",
    tag = "devices",
    responses((status = 200, description = "the counters, paired ones first", body = Vec<crate::db::devices::Counter>)),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    auth: Auth,
) -> ApiResult<Json<Vec<crate::db::devices::Counter>>> {
    auth.require_approver("see the counters")?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let counters = crate::db::devices::list(&mut tx, tenant).await?;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "device",
            None,
            "device.list",
        ),
    );
    tx.commit().await?;
    Ok(Json(counters))
}

/// `DELETE /devices/{id}` (owner, manager): unpairs a device. Its secret stops working at once;
/// tokens it already holds expire within their short lifetime.
#[utoipa::path(
    delete,
    path = "/devices/{id}",
    tag = "devices",
    params(("id" = uuid::Uuid, Path, description = "the id")),
    responses((status = 204, description = "unpaired")),
    security(("bearer" = []))
)]
pub async fn revoke(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
) -> ApiResult<StatusCode> {
    auth.require_approver("unpair devices")?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let done = sqlx::query("UPDATE devices SET revoked_at = $3 WHERE tenant_id = $1 AND id = $2 AND revoked_at IS NULL")
        .bind(tenant)
        .bind(id)
        .bind(s.now())
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() == 0 {
        return Err(ApiError::NotFound);
    }
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Delete,
            "device",
            Some(id.to_string()),
            "device.revoke",
        ),
    );
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
