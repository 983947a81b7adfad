//! The HTTP layer's state: what every handler shares (the pool, the data key, token keys,
//! metrics, the service's audit chains, order-number blocks, the group committer) and the
//! per-instance cache of tenant settings.

use super::limits;
use crate::db::tenants::TenantSettings;
use crate::numbers::OrderNumbers;
use crate::tokens::JwtKeys;
use crate::{audit, db, error, group_commit, metrics};
use pos_crypto::FieldCipher;
use sqlx::PgPool;
use std::sync::Arc;

/// How long an instance trusts the tenant settings it read.
pub const SETTINGS_TTL: std::time::Duration = std::time::Duration::from_secs(30);

/// How long an instance trusts a staff member's role and standing it read: a deactivated
/// member's or a changed role's tokens stop working on the instance that made the change at
/// once, and on every other instance within this time.
pub const STAFF_TTL: std::time::Duration = std::time::Duration::from_secs(30);

type Cached<T> = Arc<std::sync::Mutex<std::collections::HashMap<T, std::time::Instant>>>;

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub cipher: Arc<FieldCipher>,
    pub jwt: Arc<JwtKeys>,
    pub metrics: Arc<metrics::Metrics>,
    /// The service's own audit chains (in memory; see [`audit::Streams`]).
    pub streams: Arc<audit::Streams>,
    /// Blocks of API order numbers reserved from the database (see [`OrderNumbers`]).
    pub numbers: Arc<OrderNumbers>,
    /// Creates queued for group commit (see [`group_commit`]).
    pub creates: Arc<group_commit::Creates>,
    /// Each tenant's settings and when they were read (see [`AppState::settings`]).
    tenants: Arc<
        std::sync::Mutex<
            std::collections::HashMap<uuid::Uuid, (TenantSettings, std::time::Instant)>,
        >,
    >,
    /// Staff tokens found current (active, same role, issued since the member's last change),
    /// by tenant, member, role and issue time, and when (see [`AppState::staff_current`]).
    staff: Cached<(uuid::Uuid, uuid::Uuid, pos_domain::Role, i64)>,
    /// Largest `POST /sync/push` body accepted, in bytes ([`pos_protocol::MAX_PUSH_BYTES`]
    /// unless set otherwise before [`router`] is built).
    pub sync_body_limit: usize,
    /// Rate limits per client address (see [`limits`]), read when [`router`] is built.
    pub limits: limits::RateLimits,
    /// Longest time a request may take ([`REQUEST_TIMEOUT`] unless set otherwise before
    /// [`router`] is built); past it the request is answered 503 `timeout`.
    pub request_timeout: std::time::Duration,
    /// Longest time a `POST /sync/push` may take, its upload included ([`SYNC_TIMEOUT`]).
    pub sync_timeout: std::time::Duration,
    /// The office's built files, served at `/` (see [`super::office`]); none: API only.
    pub office_dir: Option<std::path::PathBuf>,
    /// The outbox relay's state, when this process runs one (`/readyz` shows it).
    pub relay: Option<Arc<crate::relay::Relay>>,
}

/// Longest time a sync push may take, by default: 4 MiB at 128 kbit/s.
pub const SYNC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Longest time a request may take, by default.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    pub fn new(pool: PgPool, cipher: Arc<FieldCipher>, jwt: JwtKeys) -> Self {
        let metrics = Arc::new(metrics::Metrics::default());
        metrics::Metrics::keep_up(&metrics);
        AppState {
            pool,
            cipher,
            jwt: Arc::new(jwt),
            metrics,
            streams: Arc::default(),
            numbers: Arc::default(),
            creates: Arc::default(),
            tenants: Arc::default(),
            staff: Arc::default(),
            sync_body_limit: pos_protocol::MAX_PUSH_BYTES,
            limits: limits::RateLimits::default(),
            request_timeout: REQUEST_TIMEOUT,
            sync_timeout: SYNC_TIMEOUT,
            office_dir: None,
            relay: None,
        }
    }

    /// The same state on another clock (tests move time on purpose): every id, business day
    /// and timestamp of the service comes from it.
    pub fn with_clock(mut self, clock: Arc<dyn pos_domain::Clock>) -> Self {
        self.streams = Arc::new(audit::Streams::on(pos_domain::TimeSource::new(clock)));
        self
    }

    /// The service's time (microseconds, as stored).
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.streams.time.now()
    }

    /// A new UUIDv7 stamped with the service's clock.
    pub fn new_uuid(&self) -> uuid::Uuid {
        self.streams.time.new_uuid()
    }

    /// `tenant`'s settings (currency and time zone), read from the database at most every
    /// [`SETTINGS_TTL`] (the currency never changes; a new time zone reaches every instance
    /// within that time, and this one at once).
    pub async fn settings(
        &self,
        tx: &mut db::Tx,
        tenant: uuid::Uuid,
    ) -> error::ApiResult<TenantSettings> {
        if let Some(c) = self.known_settings(tenant) {
            return Ok(c);
        }
        let settings = db::tenants::read(tx, tenant).await?;
        self.remember_settings(tenant, settings);
        Ok(settings)
    }

    /// `tenant`'s settings, read in a transaction of its own when not known (for a request
    /// that holds no transaction yet).
    pub async fn settings_now(&self, tenant: uuid::Uuid) -> error::ApiResult<TenantSettings> {
        match self.known_settings(tenant) {
            Some(c) => Ok(c),
            None => {
                let mut tx = self.tx(tenant).await?;
                self.settings(&mut tx, tenant).await
            }
        }
    }

    /// `tenant`'s currency.
    pub async fn currency(
        &self,
        tx: &mut db::Tx,
        tenant: uuid::Uuid,
    ) -> error::ApiResult<pos_domain::Currency> {
        Ok(self.settings(tx, tenant).await?.currency)
    }

    /// `tenant`'s currency, outside a transaction.
    pub async fn currency_now(&self, tenant: uuid::Uuid) -> error::ApiResult<pos_domain::Currency> {
        Ok(self.settings_now(tenant).await?.currency)
    }

    /// Today's business day in `tenant`'s time zone.
    pub async fn today_in(
        &self,
        tx: &mut db::Tx,
        tenant: uuid::Uuid,
    ) -> error::ApiResult<chrono::NaiveDate> {
        Ok(self
            .settings(tx, tenant)
            .await?
            .zone
            .business_date(self.now()))
    }

    pub(crate) fn remember_settings(&self, tenant: uuid::Uuid, settings: TenantSettings) {
        self.tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant, (settings, std::time::Instant::now()));
    }

    /// Whether a token of staff member `user` of `tenant` naming `role` and issued at `iat_ms`
    /// (Unix milliseconds) still holds: the member is active with that role, and the token is not
    /// older than their last change of role, of being active or of password. Read from the
    /// database at most every [`STAFF_TTL`].
    pub async fn staff_current(
        &self,
        tenant: uuid::Uuid,
        user: uuid::Uuid,
        role: pos_domain::Role,
        iat_ms: i64,
    ) -> error::ApiResult<bool> {
        let key = (tenant, user, role, iat_ms);
        let fresh = self
            .staff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&key)
            .is_some_and(|at| at.elapsed() < STAFF_TTL);
        if fresh {
            return Ok(true);
        }
        let mut tx = self.tx(tenant).await?;
        let now = db::users::active_role(&mut tx, tenant, user).await?;
        tx.commit().await?;
        let current = now.is_some_and(|(r, from)| {
            r == role && from.is_none_or(|from| iat_ms >= from.timestamp_millis())
        });
        if current {
            let mut known = self.staff.lock().unwrap_or_else(|p| p.into_inner());
            // one entry per sign-in: those past their time go
            if known.len() >= 4096 {
                known.retain(|_, at| at.elapsed() < STAFF_TTL);
            }
            known.insert(key, std::time::Instant::now());
        }
        Ok(current)
    }

    /// Forgets what this instance knew of staff member `user` (after a change of them).
    pub(crate) fn forget_staff(&self, tenant: uuid::Uuid, user: uuid::Uuid) {
        self.staff
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .retain(|(t, u, _, _), _| (*t, *u) != (tenant, user));
    }

    fn known_settings(&self, tenant: uuid::Uuid) -> Option<TenantSettings> {
        self.tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .filter(|(_, at)| at.elapsed() < SETTINGS_TTL)
            .map(|(s, _)| *s)
    }

    /// A transaction of `tenant` (see [`db::Tx`]).
    pub async fn tx(&self, tenant: uuid::Uuid) -> error::ApiResult<db::Tx> {
        Ok(db::tenant_tx(&self.pool, &self.streams, tenant)
            .await?
            .counting(self.metrics.clone()))
    }
}
