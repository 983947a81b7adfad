//! `/tenant`: the shop's own settings. Every staff member reads them; the owner changes the
//! time zone the shop's business days follow (issue 15, item 5).

use crate::audit::{self, NewEvent};
use crate::auth::Auth;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiJson;
use crate::{AppState, TenantSettings};
use axum::extract::State;
use axum::Json;
use pos_domain::{ShopZone, ValidationError};
use pos_protocol::{AuditAction, FieldChange};
use serde::{Deserialize, Serialize};

/// The shop's settings as the API shows them.
#[derive(Serialize, utoipa::ToSchema)]
pub struct TenantView {
    pub slug: String,
    pub name: String,
    /// Lines printed above each receipt (the shop's address, tax number...); may be empty.
    pub receipt_header: String,
    /// ISO 4217 code; fixed when the shop is created.
    pub currency: String,
    /// IANA time zone name; business days, order numbers, date filters, the figures and overdue
    /// installments follow it.
    pub time_zone: String,
    /// The country calling code customers' national phone numbers are read in (e.g. `62`);
    /// fixed when the shop is created, as the stored phone search keys depend on it.
    pub phone_country_code: String,
    /// Today's business day in that zone.
    pub business_date: chrono::NaiveDate,
}

async fn view(s: &AppState, tx: &mut crate::db::Tx, tenant: uuid::Uuid) -> ApiResult<TenantView> {
    let (slug, name, receipt_header): (String, String, String) =
        sqlx::query_as("SELECT slug, name, receipt_header FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_one(&mut **tx)
            .await?;
    let settings = s.settings(tx, tenant).await?;
    Ok(TenantView {
        slug,
        name,
        receipt_header,
        currency: settings.currency.code().into(),
        time_zone: settings.zone.name().into(),
        phone_country_code: settings.phone_country_code.digits(),
        business_date: settings.zone.business_date(s.now()),
    })
}

#[utoipa::path(
    get,
    path = "/tenant",
    operation_id = "get_tenant",
    tag = "tenant",
    responses((status = 200, description = "the shop's settings", body = TenantView)),
    security(("bearer" = []))
)]
pub async fn get(State(s): State<AppState>, auth: Auth) -> ApiResult<Json<TenantView>> {
    auth.require_staff()?;
    let tenant = auth.tenant();
    let mut tx = s.tx(tenant).await?;
    let v = view(&s, &mut tx, tenant).await?;
    tx.commit().await?;
    Ok(Json(v))
}

/// A change of the shop's settings (only the members given change).
#[derive(Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantPatch {
    /// The shop's name (1 to 80 characters).
    pub name: Option<String>,
    /// Lines printed above each receipt (at most 500 characters, 6 lines).
    pub receipt_header: Option<String>,
    /// An IANA time zone name, e.g. `Asia/Makassar`.
    pub time_zone: Option<String>,
}

/// The shop's name: trimmed, 1 to 80 characters.
fn shop_name(raw: &str) -> Result<String, ValidationError> {
    let n = raw.trim();
    if n.is_empty() || n.chars().count() > 80 {
        return Err(ValidationError::new(
            "name",
            "required",
            "The shop's name is required (at most 80 characters)",
        ));
    }
    Ok(n.to_owned())
}

#[utoipa::path(
    patch,
    path = "/tenant",
    operation_id = "patch_tenant",
    tag = "tenant",
    request_body = TenantPatch,
    responses((status = 200, description = "the shop's settings", body = TenantView)),
    security(("bearer" = []))
)]
pub async fn patch(
    State(s): State<AppState>,
    auth: Auth,
    ApiJson(req): ApiJson<TenantPatch>,
) -> ApiResult<Json<TenantView>> {
    auth.require_staff()?;
    if !auth.role().can_manage_staff() {
        return Err(ApiError::Forbidden(
            "Only the owner changes the shop's settings".into(),
        ));
    }
    let tenant = auth.tenant();
    let name = req.name.as_deref().map(shop_name).transpose()?;
    let header = req
        .receipt_header
        .as_deref()
        .map(pos_domain::text::receipt_header)
        .transpose()?;
    let mut tx = s.tx(tenant).await?;
    if name.is_some() || header.is_some() {
        let (old_name, old_header): (String, String) =
            sqlx::query_as("SELECT name, receipt_header FROM tenants WHERE id = $1 FOR UPDATE")
                .bind(tenant)
                .fetch_one(&mut *tx)
                .await?;
        let ids = tenant.to_string();
        let mut fields = Vec::new();
        if let Some(n) = name.as_ref().filter(|n| **n != old_name) {
            fields.push(FieldChange::new(&ids, "name", Some(&old_name), Some(n)));
        }
        if let Some(h) = header.as_ref().filter(|h| **h != old_header) {
            fields.push(FieldChange::new(
                &ids,
                "receipt_header",
                Some(&old_header),
                Some(h),
            ));
        }
        if !fields.is_empty() {
            sqlx::query(
                "UPDATE tenants SET name = COALESCE($2, name), receipt_header = COALESCE($3, receipt_header) WHERE id = $1",
            )
            .bind(tenant)
            .bind(name)
            .bind(header)
            .execute(&mut *tx)
            .await?;
            audit::record(
                &mut tx,
                NewEvent::by(
                    (auth.user(), auth.role()),
                    AuditAction::Update,
                    "tenant",
                    Some(ids),
                    "tenant.settings",
                )
                .fields(fields),
            );
        }
    }
    if let Some(name) = req.time_zone {
        let zone = ShopZone::parse("time_zone", &name)?;
        let before = s.settings(&mut tx, tenant).await?;
        if before.zone != zone {
            sqlx::query("UPDATE tenants SET time_zone = $2 WHERE id = $1")
                .bind(tenant)
                .bind(zone.name())
                .execute(&mut *tx)
                .await?;
            let ids = tenant.to_string();
            audit::record(
                &mut tx,
                NewEvent::by(
                    (auth.user(), auth.role()),
                    AuditAction::Update,
                    "tenant",
                    Some(ids.clone()),
                    "tenant.time_zone",
                )
                .fields(vec![FieldChange::new(
                    &ids,
                    "time_zone",
                    Some(before.zone.name()),
                    Some(zone.name()),
                )]),
            );
            tx.commit().await?;
            s.remember_settings(tenant, TenantSettings { zone, ..before });
            tx = s.tx(tenant).await?;
        }
    }
    let v = view(&s, &mut tx, tenant).await?;
    tx.commit().await?;
    Ok(Json(v))
}
