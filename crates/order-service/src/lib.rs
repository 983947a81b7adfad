//! The central order-service: a multi-tenant REST API on PostgreSQL with row-level security.

pub mod app;
pub mod audit;
pub mod config;
pub mod db;
pub mod error;
pub mod group_commit;
pub mod http;
pub use http::{
    admin, auth, devices, extract, feeds, limits, login, openapi, orders, request, sync, tenant,
    users,
};
pub mod metrics;
pub mod secret;
pub mod telemetry;

use pos_crypto::FieldCipher;
use sqlx::PgPool;
use std::sync::Arc;

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

/// How long an instance trusts the tenant settings it read.
pub const SETTINGS_TTL: std::time::Duration = std::time::Duration::from_secs(30);

#[derive(Clone)]
pub struct AppState {
    pub pool: PgPool,
    pub cipher: Arc<FieldCipher>,
    pub jwt: Arc<auth::JwtKeys>,
    pub metrics: Arc<metrics::Metrics>,
    /// The service's own audit chains (in memory; see [`audit::Streams`]).
    pub streams: Arc<audit::Streams>,
    /// Blocks of API order numbers reserved from the database (see [`orders::OrderNumbers`]).
    pub numbers: Arc<orders::OrderNumbers>,
    /// Creates queued for group commit (see [`group_commit`]).
    pub creates: Arc<group_commit::Creates>,
    /// Each tenant's settings and when they were read (see [`AppState::settings`]).
    tenants: Arc<
        std::sync::Mutex<
            std::collections::HashMap<uuid::Uuid, (TenantSettings, std::time::Instant)>,
        >,
    >,
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
}

/// Longest time a sync push may take, by default: 4 MiB at 128 kbit/s.
pub const SYNC_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(300);

/// Longest time a request may take, by default.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

impl AppState {
    pub fn new(pool: PgPool, cipher: Arc<FieldCipher>, jwt: auth::JwtKeys) -> Self {
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
            sync_body_limit: pos_protocol::MAX_PUSH_BYTES,
            limits: limits::RateLimits::default(),
            request_timeout: REQUEST_TIMEOUT,
            sync_timeout: SYNC_TIMEOUT,
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
        let (currency, zone, country): (String, String, String) = sqlx::query_as(
            "SELECT currency, time_zone, phone_country_code FROM tenants WHERE id = $1",
        )
        .bind(tenant)
        .fetch_one(&mut **tx)
        .await?;
        let settings = TenantSettings {
            currency: currency
                .parse()
                .map_err(|_| error::ApiError::Internal("tenant currency".into()))?,
            zone: pos_domain::ShopZone::parse("time_zone", &zone)
                .map_err(|_| error::ApiError::Internal("tenant time zone".into()))?,
            phone_country_code: pos_domain::CountryCode::parse("phone_country_code", &country)
                .map_err(|_| error::ApiError::Internal("tenant country code".into()))?,
        };
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

/// Password checks allowed to wait for a hashing thread, per thread. Beyond that a login is
/// refused at once (503 `busy`, `Retry-After: 1`) rather than queued: argon2's cost must not be
/// a lever that makes every other login wait (the rate limits bound each address; this bounds
/// them all together).
pub const HASH_QUEUE_PER_THREAD: usize = 16;

/// Runs password hashing and checking on the service's fixed hashing threads (one per core; see
/// [`pos_crypto::password`]), never on the runtime's blocking pool: a burst of logins queues
/// here instead of holding 19 MiB of argon2 memory on each of up to 512 blocking threads.
pub async fn on_hash_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> error::ApiResult<T> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    static HASHERS: std::sync::OnceLock<Option<(pos_crypto::password::Hashers, usize)>> =
        std::sync::OnceLock::new();
    static WAITING: AtomicUsize = AtomicUsize::new(0);
    let (hashers, threads) = HASHERS
        .get_or_init(|| {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            pos_crypto::password::Hashers::start(threads, "password-hash")
                .ok()
                .map(|h| (h, threads))
        })
        .as_ref()
        .ok_or_else(|| error::ApiError::Internal("no password hashing threads".into()))?;
    // Counted out when the job ends or is skipped (not when the request goes: the job may
    // still be queued then, and would go on counting against the bound unseen).
    struct Waiting;
    impl Drop for Waiting {
        fn drop(&mut self) {
            WAITING.fetch_sub(1, Ordering::SeqCst);
        }
    }
    let before = WAITING.fetch_add(1, Ordering::SeqCst);
    let waiting = Waiting;
    if before >= threads * HASH_QUEUE_PER_THREAD {
        return Err(error::ApiError::Unavailable {
            code: "busy",
            message: "Too many logins at once; try again in a moment".into(),
            retry_after: 1,
        });
    }
    // the job owns the count; a skipped job (its caller gone) drops it too
    let job = move || {
        let _waiting = waiting;
        f()
    };
    hashers
        .run(job)
        .await
        .map_err(|e| error::ApiError::Internal(e.to_string()))
}

/// Serves until ctrl-c / SIGTERM, then drains in-flight requests.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    // the peer's address is what the rate limits count against (see [`limits`])
    axum::serve(
        listener,
        http::router(state).into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown(async {
        let ctrl_c = tokio::signal::ctrl_c();
        #[cfg(unix)]
        {
            let mut term =
                match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                    Ok(t) => t,
                    Err(_) => return,
                };
            tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} }
        }
        #[cfg(not(unix))]
        {
            let _ = ctrl_c.await;
        }
    })
    .await
}
