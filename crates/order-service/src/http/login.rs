use crate::audit::{self, NewEvent};
use crate::error::{ApiError, ApiResult};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use pos_domain::Role;
use pos_protocol::AuditAction;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub tenant: String,
    pub email: String,
    #[schema(value_type = String, format = Password)]
    pub password: crate::secret::Secret,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct UserView {
    pub id: Uuid,
    pub name: String,
    pub email: String,
    pub role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
pub struct LoginResponse {
    pub access_token: String,
    pub token_type: &'static str,
    pub expires_in: i64,
    pub user: UserView,
}

/// A verifier no password matches, made once: checked when the tenant, the e-mail or the
/// user's password is unknown, so that a login does the same argon2 work whether the e-mail
/// exists or not (its timing does not tell).
fn decoy_verifier() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| {
        let mut secret = [0u8; 32];
        rand::RngCore::fill_bytes(&mut rand::thread_rng(), &mut secret);
        pos_crypto::password::hash(&secret).unwrap_or_default()
    })
}

/// Checks `password` against `verifier`, or against the decoy when there is none.
async fn check_password(
    s: &AppState,
    password: crate::secret::Secret,
    verifier: Option<String>,
) -> ApiResult<bool> {
    s.metrics.count_password_check();
    crate::hashing::on_hash_thread(move || {
        let known = verifier.is_some();
        let v = verifier.unwrap_or_else(|| decoy_verifier().to_owned());
        pos_crypto::password::verify(password.expose().as_bytes(), &v) && known
    })
    .await
}

/// The lockout of one account (tenant and e-mail), known or not.
struct Throttle {
    failures: u32,
    locked_until: Option<chrono::DateTime<chrono::Utc>>,
}

async fn throttle(tx: &mut crate::db::Tx, tenant: Uuid, index: &[u8]) -> ApiResult<Throttle> {
    let row: Option<(i32, Option<chrono::DateTime<chrono::Utc>>)> = sqlx::query_as(
        "SELECT failures, locked_until FROM login_throttle WHERE tenant_id = $1 AND email_index = $2",
    )
    .bind(tenant)
    .bind(index)
    .fetch_optional(&mut **tx)
    .await?;
    Ok(row.map_or(
        Throttle {
            failures: 0,
            locked_until: None,
        },
        |(f, until)| Throttle {
            failures: u32::try_from(f).unwrap_or(0),
            locked_until: until,
        },
    ))
}

/// One more wrong password for the account, counted atomically (parallel attempts each count),
/// and the lock it brings, if any.
async fn count_failure(
    tx: &mut crate::db::Tx,
    tenant: Uuid,
    index: &[u8],
    now: chrono::DateTime<chrono::Utc>,
) -> ApiResult<pos_domain::lockout::Failure> {
    let failures: i32 = sqlx::query_scalar(
        "INSERT INTO login_throttle (tenant_id, email_index, failures) VALUES ($1, $2, 1)
         ON CONFLICT (tenant_id, email_index) DO UPDATE SET failures = login_throttle.failures + 1
         RETURNING failures",
    )
    .bind(tenant)
    .bind(index)
    .fetch_one(&mut **tx)
    .await?;
    let before = u32::try_from(failures - 1).unwrap_or(0);
    let failure = pos_domain::Lockout::SERVICE_LOGIN.after_failure(before, now);
    if let Some(until) = failure.locked_until {
        sqlx::query(
            "UPDATE login_throttle SET locked_until = $3 WHERE tenant_id = $1 AND email_index = $2",
        )
        .bind(tenant)
        .bind(index)
        .bind(until)
        .execute(&mut **tx)
        .await?;
    }
    Ok(failure)
}

/// `POST /auth/login`: tenant slug + e-mail + password → access token. Every attempt is
/// audited (ACCESS); a wrong tenant, e-mail or password gets the same 401 after the same work.
/// Wrong passwords lock the account ([`pos_domain::Lockout::SERVICE_LOGIN`]; an unknown e-mail
/// is locked the same way): while locked, 429 `account_locked` with `Retry-After`, and no
/// password is checked.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "an access token", body = LoginResponse),
        (status = 401, description = "wrong tenant, e-mail or password"),
        (status = 429, description = "the account is locked after wrong passwords, or this address sent too many requests"),
    ),
    security(())
)]
pub async fn login(
    State(s): State<AppState>,
    crate::extract::ApiJson(req): crate::extract::ApiJson<LoginRequest>,
) -> ApiResult<Json<LoginResponse>> {
    let tenant: Option<Uuid> = sqlx::query_scalar("SELECT tenant_id_by_slug($1)")
        .bind(req.tenant.trim())
        .fetch_one(&s.pool)
        .await?;
    let email = pos_domain::customer::normalize_email(&req.email).ok();
    let (Some(tenant), Some(email)) = (tenant, email) else {
        check_password(&s, req.password, None).await?;
        return Err(ApiError::Unauthorized);
    };
    let index = s.cipher.blind_index("user_email", &email);
    let now = s.now();
    // Read, then let the connection go: no connection or row lock is held while the password
    // is checked (argon2 takes a while, and logins must not starve the pool).
    let (locked, row) = {
        let mut tx = s.tx(tenant).await?;
        let locked = throttle(&mut tx, tenant, &index).await?;
        let row = sqlx::query("SELECT id, name, role, password_hash, active FROM users WHERE tenant_id = $1 AND email_index = $2")
            .bind(tenant)
            .bind(&index)
            .fetch_optional(&mut *tx)
            .await?;
        (locked, row)
    };
    let user = match &row {
        Some(r) => {
            let role: Role = r
                .get::<String, _>("role")
                .parse()
                .map_err(ApiError::Internal)?;
            Some((r.get::<Uuid, _>("id"), role))
        }
        None => None,
    };
    let failed_event = |detail: &str| NewEvent {
        actor: user.map(|(id, role)| (pos_domain::StaffId(id), role)),
        action: AuditAction::Access,
        entity_type: "session",
        entity_id: user.map(|(id, _)| id.to_string()),
        operation: "login.failed",
        detail: Some(detail.to_owned()),
        fields: vec![],
    };
    if let Some(until) = locked.locked_until.filter(|u| *u > now) {
        let mut tx = s.tx(tenant).await?;
        audit::record(&mut tx, failed_event("locked"));
        tx.commit().await?;
        return Err(ApiError::TooManyRequests {
            code: "account_locked",
            message: "Too many wrong passwords for this account; try again later".into(),
            retry_after: u64::try_from((until - now).num_seconds() + 1).unwrap_or(1),
        });
    }
    let verifier = row.as_ref().and_then(|r| {
        r.get::<bool, _>("active")
            .then(|| r.get::<Option<String>, _>("password_hash"))
            .flatten()
    });
    let right = check_password(&s, req.password, verifier).await?;
    let mut tx = s.tx(tenant).await?;
    if !right {
        let failure = count_failure(&mut tx, tenant, &index, now).await?;
        let detail = match (user.is_some(), failure.locked_until.is_some()) {
            (true, false) => "wrong_password",
            (true, true) => "wrong_password_locked",
            (false, false) => "unknown_user",
            (false, true) => "unknown_user_locked",
        };
        audit::record(&mut tx, failed_event(detail));
        tx.commit().await?;
        return Err(ApiError::Unauthorized);
    }
    let (Some(row), Some((id, role))) = (row, user) else {
        return Err(ApiError::Unauthorized);
    };
    if locked.failures > 0 {
        sqlx::query("DELETE FROM login_throttle WHERE tenant_id = $1 AND email_index = $2")
            .bind(tenant)
            .bind(&index)
            .execute(&mut *tx)
            .await?;
    }
    audit::record(
        &mut tx,
        NewEvent::by(
            (id, role),
            AuditAction::Access,
            "session",
            Some(id.to_string()),
            "login",
        ),
    );
    tx.commit().await?;
    Ok(Json(LoginResponse {
        access_token: s.jwt.issue(id, tenant, role, "user", s.now())?,
        token_type: "Bearer",
        expires_in: crate::auth::TOKEN_TTL_SECONDS,
        user: UserView {
            id,
            name: row.get("name"),
            email,
            role,
        },
    }))
}
