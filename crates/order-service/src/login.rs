use crate::audit::{self, Event};
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
    pub password: crate::config::Secret,
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

/// `POST /auth/login`: tenant slug + e-mail + password → access token. Every attempt is
/// audited (ACCESS); a wrong tenant, e-mail or password gets the same 401.
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body = LoginRequest,
    responses((status = 200, description = "an access token", body = LoginResponse)),
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
    let tenant = tenant.ok_or(ApiError::Unauthorized)?;
    let email =
        pos_domain::customer::normalize_email(&req.email).map_err(|_| ApiError::Unauthorized)?;
    let index = s.cipher.blind_index("user_email", &email);
    let mut tx = s.tx(tenant).await?;
    let row = sqlx::query("SELECT id, name, role, password_hash, active FROM users WHERE tenant_id = $1 AND email_index = $2")
        .bind(tenant)
        .bind(&index)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(row) = row else {
        audit::record(
            &mut tx,
            Event {
                actor: None,
                action: AuditAction::Access,
                entity_type: "session",
                entity_id: None,
                operation: "login.failed",
                detail: Some("unknown_user".into()),
                fields: vec![],
            },
        );
        tx.commit().await?;
        return Err(ApiError::Unauthorized);
    };
    let id: Uuid = row.get("id");
    let role: Role = row
        .get::<String, _>("role")
        .parse()
        .map_err(ApiError::Internal)?;
    let hash: Option<String> = row.get("password_hash");
    let password = req.password;
    let ok = crate::on_hash_thread(move || {
        hash.as_deref()
            .is_some_and(|h| pos_crypto::password::verify(password.expose().as_bytes(), h))
    })
    .await?;
    if !ok || !row.get::<bool, _>("active") {
        audit::record(
            &mut tx,
            Event::new(
                (id, role),
                AuditAction::Access,
                "session",
                Some(id.to_string()),
                "login.failed",
            )
            .detail("wrong_password"),
        );
        tx.commit().await?;
        return Err(ApiError::Unauthorized);
    }
    audit::record(
        &mut tx,
        Event::new(
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
