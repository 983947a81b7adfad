//! `order-service admin create-tenant`: a tenant and its first owner, created as the role that
//! owns the tables (never over HTTP).

use crate::error::{ApiError, ApiResult};
use pos_crypto::{Aad, FieldCipher};
use sqlx::PgPool;
use uuid::Uuid;

pub struct NewTenant<'a> {
    pub slug: &'a str,
    pub name: &'a str,
    pub currency: pos_domain::Currency,
    /// The shop's time zone ([`pos_domain::ShopZone::DEFAULT`], Asia/Jakarta, unless told).
    pub time_zone: pos_domain::ShopZone,
    /// The shop's country calling code ([`pos_domain::CountryCode::INDONESIA`] unless told).
    pub phone_country_code: pos_domain::CountryCode,
    pub owner_name: &'a str,
    pub owner_email: &'a str,
    pub owner_password: &'a str,
}

pub struct CreatedTenant {
    pub tenant_id: Uuid,
    pub owner_id: Uuid,
}

pub async fn create_tenant(
    admin: &PgPool,
    cipher: &FieldCipher,
    t: NewTenant<'_>,
) -> ApiResult<CreatedTenant> {
    let email = pos_domain::customer::normalize_email(t.owner_email)?;
    // the shared password rule, named for this command's field
    pos_domain::staff::password(t.owner_password).map_err(|mut e| {
        e.field = "owner_password".into();
        e
    })?;
    // The admin command runs on the machine's clock.
    let streams = std::sync::Arc::<crate::audit::Streams>::default();
    let tenant_id = streams.time.new_uuid();
    let owner_id = streams.time.new_uuid();
    let hash = pos_crypto::password::hash(t.owner_password.as_bytes())
        .ok_or_else(|| ApiError::Internal("password hashing failed".into()))?;
    let mut tx = crate::db::tenant_tx(admin, &streams, tenant_id).await?;
    sqlx::query(
        "INSERT INTO tenants (id, slug, name, currency, time_zone, phone_country_code) VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(tenant_id)
    .bind(t.slug)
    .bind(t.name)
    .bind(t.currency.code())
    .bind(t.time_zone.name())
    .bind(t.phone_country_code.digits())
    .execute(&mut *tx)
    .await
    .map_err(|e| match e {
        sqlx::Error::Database(d) if d.is_unique_violation() => ApiError::Conflict {
            code: "tenant_exists",
            message: format!("A tenant with slug {:?} exists", t.slug),
        },
        sqlx::Error::Database(d) if d.is_check_violation() => ApiError::Unprocessable {
            params: Default::default(),
            code: "invalid_slug".into(),
            message: "Slug must be 2-63 lower-case letters, digits or dashes".into(),
            field: Some("slug".into()),
        },
        other => other.into(),
    })?;
    let oid = owner_id.to_string();
    sqlx::query("INSERT INTO users (tenant_id, id, name, email, email_index, role, password_hash) VALUES ($1, $2, $3, $4, $5, 'owner', $6)")
        .bind(tenant_id)
        .bind(owner_id)
        .bind(t.owner_name.trim())
        .bind(cipher.encrypt_str(&email, Aad { table: "users", record_id: &oid, field: "email" }))
        .bind(cipher.blind_index("user_email", &email))
        .bind(hash)
        .execute(&mut *tx)
        .await?;
    crate::audit::record(
        &mut tx,
        crate::audit::NewEvent::by(
            (owner_id, pos_domain::Role::Owner),
            pos_protocol::AuditAction::Create,
            "tenant",
            Some(tenant_id.to_string()),
            "tenant.create",
        ),
    );
    tx.commit().await?;
    Ok(CreatedTenant {
        tenant_id,
        owner_id,
    })
}
