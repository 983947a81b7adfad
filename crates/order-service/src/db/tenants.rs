//! The `tenants` table: a shop's settings.

use super::Tx;
use crate::error::{ApiError, ApiResult};
use uuid::Uuid;

/// A tenant's settings as every request uses them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TenantSettings {
    /// Set when the tenant is created, never changed.
    pub currency: pos_domain::Currency,
    /// Business days, order numbers, filters, figures and overdue installments follow it.
    pub zone: pos_domain::ShopZone,
    /// Set when the tenant is created, never changed: customers' phone search keys use it.
    pub phone_country_code: pos_domain::CountryCode,
}

/// Reads `tenant`'s settings.
pub async fn read(tx: &mut Tx, tenant: Uuid) -> ApiResult<TenantSettings> {
    let (currency, zone, country): (String, String, String) =
        sqlx::query_as("SELECT currency, time_zone, phone_country_code FROM tenants WHERE id = $1")
            .bind(tenant)
            .fetch_one(&mut **tx)
            .await?;
    Ok(TenantSettings {
        currency: currency
            .parse()
            .map_err(|_| ApiError::Internal("tenant currency".into()))?,
        zone: pos_domain::ShopZone::parse("time_zone", &zone)
            .map_err(|_| ApiError::Internal("tenant time zone".into()))?,
        phone_country_code: pos_domain::CountryCode::parse("phone_country_code", &country)
            .map_err(|_| ApiError::Internal("tenant country code".into()))?,
    })
}
