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
use pos_domain::{staff, Role, ValidationError};
use pos_protocol::{AuditAction, FieldChange};
use serde::{Deserialize, Serialize};
use sqlx::Row;
use uuid::Uuid;

/// A new staff member. The password signs in to the office and the API; the PIN (optional)
/// unlocks the shop's counters once they pull the roster.
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    pub name: String,
    pub email: String,
    /// `manager` or `cashier` (a shop has one owner).
    pub role: Role,
    #[schema(value_type = String, format = Password)]
    pub password: crate::secret::Secret,
    #[serde(default)]
    #[schema(value_type = Option<String>, format = Password)]
    pub pin: Option<crate::secret::Secret>,
}

/// A staff member as the owner sees them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffMember {
    pub id: Uuid,
    pub name: String,
    /// None for staff adopted from a counter (they have a PIN and no sign-in).
    pub email: Option<String>,
    pub role: Role,
    /// An inactive member can neither sign in nor approve, here and on every counter after
    /// its next pull.
    pub active: bool,
    /// Whether they have a counter PIN.
    pub has_pin: bool,
}

/// The staff list.
#[derive(Serialize, utoipa::ToSchema)]
pub struct StaffList {
    pub items: Vec<StaffMember>,
}

/// A change of a staff member (only the members given change). The owner keeps the owner's
/// role and stays active; nobody is made owner ([`pos_domain::staff::change`]).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StaffPatch {
    pub name: Option<String>,
    pub role: Option<Role>,
    /// `false` deactivates, `true` reactivates.
    pub active: Option<bool>,
    /// A new password (a reset).
    #[schema(value_type = Option<String>, format = Password)]
    pub password: Option<crate::secret::Secret>,
    /// A new counter PIN (a reset).
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
    responses((status = 201, description = "the new staff member", body = StaffMember)),
    security(("bearer" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<NewUser>,
) -> ApiResult<(StatusCode, Json<StaffMember>)> {
    require_owner(&auth)?;
    let name = staff::name("name", &req.name)?;
    let email = pos_domain::customer::normalize_email(&req.email).map_err(|e| ValidationError {
        field: "email".into(),
        ..e
    })?;
    let role = staff::new_role(req.role)?;
    staff::password(req.password.expose())?;
    if let Some(pin) = &req.pin {
        staff::pin(pin.expose())?;
    }
    let has_pin = req.pin.is_some();
    let (pw_hash, pin_hash) = hashes(Some(req.password), req.pin).await?;
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
        .bind(role.as_str())
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
        .detail(format!("role={role}")),
    );
    tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        Json(StaffMember {
            id,
            name,
            email: Some(email),
            role,
            active: true,
            has_pin,
        }),
    ))
}

/// The argon2id verifiers of a password and a PIN, made on the hashing thread.
async fn hashes(
    password: Option<crate::secret::Secret>,
    pin: Option<crate::secret::Secret>,
) -> ApiResult<(Option<String>, Option<String>)> {
    crate::hashing::on_hash_thread(move || -> ApiResult<(Option<String>, Option<String>)> {
        Ok((
            password.map(|p| hash(p.expose())).transpose()?,
            pin.map(|p| hash(p.expose().trim())).transpose()?,
        ))
    })
    .await?
}

fn member(s: &AppState, r: &sqlx::postgres::PgRow) -> ApiResult<StaffMember> {
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
    Ok(StaffMember {
        id,
        name: r.get("name"),
        email,
        role: r
            .get::<String, _>("role")
            .parse()
            .map_err(|e: String| ApiError::Internal(e))?,
        active: r.get("active"),
        has_pin: r.get("has_pin"),
    })
}

const MEMBER_COLUMNS: &str = "id, name, email, role, active, pin_hash IS NOT NULL AS has_pin";

#[utoipa::path(
    get,
    path = "/users",
    operation_id = "list_users",
    tag = "staff",
    responses((status = 200, description = "the tenant's staff", body = StaffList)),
    security(("bearer" = []))
)]
pub async fn list(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<StaffList>> {
    require_owner(&auth)?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let rows = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM users WHERE tenant_id = $1 ORDER BY created_at"
    ))
    .bind(tenant)
    .fetch_all(&mut *tx)
    .await?;
    let items = rows
        .iter()
        .map(|r| member(&s, r))
        .collect::<ApiResult<Vec<_>>>()?;
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
    Ok(Json(StaffList { items }))
}

#[utoipa::path(
    patch,
    path = "/users/{id}",
    operation_id = "patch_user",
    tag = "staff",
    params(("id" = Uuid, Path, description = "the staff member")),
    request_body = StaffPatch,
    responses((status = 200, description = "the staff member after the change", body = StaffMember)),
    security(("bearer" = []))
)]
/// Renames, changes the role of, deactivates or reactivates a staff member, or resets their
/// password or PIN. Every change is audited (never a secret). A deactivated member's tokens stop
/// working on this instance at once and on others within [`super::state::STAFF_TTL`].
pub async fn patch(
    State(s): State<AppState>,
    auth: Auth,
    crate::extract::ApiPath(id): crate::extract::ApiPath<Uuid>,
    ApiJson(req): ApiJson<StaffPatch>,
) -> ApiResult<Json<StaffMember>> {
    require_owner(&auth)?;
    let name = req
        .name
        .as_deref()
        .map(|n| staff::name("name", n))
        .transpose()?;
    if let Some(p) = &req.password {
        staff::password(p.expose())?;
    }
    if let Some(p) = &req.pin {
        staff::pin(p.expose())?;
    }
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let before = sqlx::query(&format!(
        "SELECT {MEMBER_COLUMNS} FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE"
    ))
    .bind(tenant)
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?
    .ok_or(ApiError::NotFound)?;
    let before = member(&s, &before)?;
    staff::change(before.role, req.role, req.active == Some(false))?;
    if before.email.is_none() && req.password.is_some() {
        return Err(ValidationError::new(
            "password",
            "no_sign_in",
            "This staff member was added on a counter and has no e-mail to sign in with",
        )
        .into());
    }
    let reset_password = req.password.is_some();
    let reset_pin = req.pin.is_some();
    let (pw_hash, pin_hash) = hashes(req.password, req.pin).await?;
    let role = req.role.unwrap_or(before.role);
    let active = req.active.unwrap_or(before.active);
    let name = name.unwrap_or_else(|| before.name.clone());
    // Their sign-ins from before a change of role, of being active, or of password end here.
    let cut_off =
        (role != before.role || active != before.active || reset_password).then(|| s.now());
    sqlx::query(
        "UPDATE users SET name = $3, role = $4, active = $5,
                password_hash = COALESCE($6, password_hash), pin_hash = COALESCE($7, pin_hash),
                tokens_valid_from = COALESCE($8, tokens_valid_from)
          WHERE tenant_id = $1 AND id = $2",
    )
    .bind(tenant)
    .bind(id)
    .bind(&name)
    .bind(role.as_str())
    .bind(active)
    .bind(pw_hash)
    .bind(pin_hash)
    .bind(cut_off)
    .execute(&mut *tx)
    .await?;
    let ids = id.to_string();
    let mut fields = Vec::new();
    if name != before.name {
        fields.push(FieldChange::new(
            &ids,
            "name",
            Some(&before.name),
            Some(&name),
        ));
    }
    if role != before.role {
        fields.push(FieldChange::new(
            &ids,
            "role",
            Some(before.role.as_str()),
            Some(role.as_str()),
        ));
    }
    if active != before.active {
        fields.push(FieldChange::new(
            &ids,
            "active",
            Some(&before.active.to_string()),
            Some(&active.to_string()),
        ));
    }
    let resets: Vec<&str> = [(reset_password, "password"), (reset_pin, "pin")]
        .into_iter()
        .filter_map(|(done, what)| done.then_some(what))
        .collect();
    let mut event = NewEvent::by(
        (auth.user(), auth.role()),
        AuditAction::Update,
        "staff",
        Some(ids),
        "staff.update",
    )
    .fields(fields);
    if !resets.is_empty() {
        event = event.detail(format!("reset={}", resets.join(",")));
    }
    audit::record(&mut tx, event);
    tx.commit().await?;
    s.forget_staff(tenant, id);
    Ok(Json(StaffMember {
        name,
        role,
        active,
        has_pin: before.has_pin || reset_pin,
        ..before
    }))
}
