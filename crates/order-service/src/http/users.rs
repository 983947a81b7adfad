//! `/users`: the owner manages staff (role, password for the API, PIN for the counters).

use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use pos_crypto::Aad;
use pos_domain::{Role, ValidationError};
use pos_protocol::AuditAction;
use serde::Deserialize;
use serde_json::{json, Value};
use sqlx::Row;
use uuid::Uuid;

#[derive(Deserialize, utoipa::ToSchema)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    pub role: Role,
    #[schema(value_type = String, format = Password)]
    pub password: crate::secret::Secret,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub pin: Option<crate::secret::Secret>,
}

fn require_owner(auth: &Auth) -> ApiResult<()> {
    auth.require_staff()?;
    if auth.role().can_manage_staff() {
        Ok(())
    } else {
        Err(ApiError::Forbidden("Only the owner manages staff".into()))
    }
}

fn hash(secret: &str) -> ApiResult<String> {
    pos_crypto::password::hash(secret.as_bytes())
        .ok_or_else(|| ApiError::Internal("password hashing failed".into()))
}

#[utoipa::path(
    post,
    path = "/users",
    operation_id = "create_user",
    tag = "staff",
    request_body = NewUser,
    params(("Idempotency-Key" = Option<String>, Header, description = "replays the first response for the same key")),
    responses((status = 201, description = "the user", body = Object)),
    security(("bearer" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    require_owner(&auth)?;
    let name = req.name.trim().to_owned();
    if name.is_empty() || name.chars().count() > 80 {
        return Err(ValidationError::new(
            "name",
            "required",
            "Name is required (at most 80 characters)",
        )
        .into());
    }
    let email = pos_domain::customer::normalize_email(&req.email).map_err(|e| ValidationError {
        field: "email".into(),
        ..e
    })?;
    if req.role == Role::Owner {
        return Err(ValidationError::new(
            "role",
            "invalid_role",
            "A tenant has one owner; add a manager or cashier",
        )
        .into());
    }
    if req.password.expose().len() < 10 {
        return Err(ValidationError::new(
            "password",
            "too_short",
            "Password must be at least 10 characters",
        )
        .into());
    }
    if let Some(pin) = &req.pin {
        let p = pin.expose();
        if !(4..=8).contains(&p.len()) || !p.chars().all(|c| c.is_ascii_digit()) {
            return Err(
                ValidationError::new("pin", "invalid_pin", "PIN must be 4 to 8 digits").into(),
            );
        }
    }
    let password = req.password;
    let pin = req.pin;
    let (pw_hash, pin_hash) =
        crate::hashing::on_hash_thread(move || -> ApiResult<(String, Option<String>)> {
            Ok((
                hash(password.expose())?,
                pin.map(|p| hash(p.expose())).transpose()?,
            ))
        })
        .await??;
    let tenant = auth.tenant();
    let id = s.new_uuid();
    let ids = id.to_string();
    let mut tx = s.tx(tenant).await?;
    sqlx::query("INSERT INTO users (tenant_id, id, name, email, email_index, role, password_hash, pin_hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
        .bind(tenant)
        .bind(id)
        .bind(&name)
        .bind(s.cipher.encrypt_str(&email, Aad { table: "users", record_id: &ids, field: "email" }))
        .bind(s.cipher.blind_index("user_email", &email))
        .bind(req.role.as_str())
        .bind(pw_hash)
        .bind(pin_hash)
        .execute(&mut *tx)
        .await
        .map_err(|e| match e {
            sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::Conflict { code: "email_in_use", message: "A user with this e-mail exists".into() },
            other => other.into(),
        })?;
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Create,
            "staff",
            Some(ids),
            "staff.create",
        )
        .detail(format!("role={}", req.role)),
    );
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({"id": id, "name": name, "email": email, "role": req.role})),
    ))
}

#[utoipa::path(
    get,
    path = "/users",
    operation_id = "list_users",
    tag = "staff",
    responses((status = 200, description = "the tenant's staff", body = Object)),
    security(("bearer" = []))
)]
pub async fn list(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<Value>> {
    require_owner(&auth)?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let rows = sqlx::query(
        "SELECT id, name, email, role, active FROM users WHERE tenant_id = $1 ORDER BY created_at",
    )
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?;
    let mut items = Vec::with_capacity(rows.len());
    for r in rows {
        let id: Uuid = r.get("id");
        let ids = id.to_string();
        // staff adopted from a counter have a PIN and no e-mail
        let email = match r.try_get::<Option<Vec<u8>>, _>("email")? {
            Some(blob) => Some(
                s.cipher
                    .decrypt_string(
                        &blob,
                        Aad {
                            table: "users",
                            record_id: &ids,
                            field: "email",
                        },
                    )
                    .ok_or_else(|| ApiError::Internal("decrypt".into()))?,
            ),
            None => None,
        };
        items.push(json!({"id": id, "name": r.get::<String, _>("name"), "email": email, "role": r.get::<String, _>("role"), "active": r.get::<bool, _>("active")}));
    }
    audit::record(
        &mut tx,
        NewEvent::by(
            (auth.user(), auth.role()),
            AuditAction::Access,
            "staff",
            None,
            "staff.list",
        ),
    );
    tx.commit().await?;
    Ok(Json(json!({ "items": items })))
}
