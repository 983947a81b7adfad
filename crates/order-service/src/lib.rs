//! The central order-service: a multi-tenant REST API on PostgreSQL with row-level security.

pub mod admin;
pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod devices;
pub mod error;
pub mod extract;
pub mod feeds;
pub mod group_commit;
pub mod login;
pub mod metrics;
pub mod openapi;
pub mod orders;
pub mod pii;
pub mod sync;
pub mod users;

use axum::routing::{get, post};
use axum::Router;
use pos_crypto::FieldCipher;
use sqlx::PgPool;
use std::sync::Arc;

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
    /// Each tenant's currency (set when the tenant is created, never changed), read once.
    currencies: Arc<std::sync::Mutex<std::collections::HashMap<uuid::Uuid, pos_domain::Currency>>>,
    /// Largest `POST /sync/push` body accepted, in bytes ([`pos_protocol::MAX_PUSH_BYTES`]
    /// unless set otherwise before [`router`] is built).
    pub sync_body_limit: usize,
}

impl AppState {
    pub fn new(pool: PgPool, cipher: Arc<FieldCipher>, jwt: auth::JwtKeys) -> Self {
        AppState {
            pool,
            cipher,
            jwt: Arc::new(jwt),
            metrics: Arc::default(),
            streams: Arc::default(),
            numbers: Arc::default(),
            creates: Arc::default(),
            currencies: Arc::default(),
            sync_body_limit: pos_protocol::MAX_PUSH_BYTES,
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

    /// Today's business day.
    pub fn today(&self) -> chrono::NaiveDate {
        self.now().date_naive()
    }

    /// A new UUIDv7 stamped with the service's clock.
    pub fn new_uuid(&self) -> uuid::Uuid {
        self.streams.time.new_uuid()
    }

    /// `tenant`'s currency, read from the database the first time only.
    pub async fn currency(
        &self,
        tx: &mut db::Tx,
        tenant: uuid::Uuid,
    ) -> error::ApiResult<pos_domain::Currency> {
        if let Some(c) = self.known_currency(tenant) {
            return Ok(c);
        }
        let c: pos_domain::Currency =
            sqlx::query_scalar::<_, String>("SELECT currency FROM tenants WHERE id = $1")
                .bind(tenant)
                .fetch_one(&mut **tx)
                .await?
                .parse()
                .map_err(|_| error::ApiError::Internal("tenant currency".into()))?;
        self.currencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .insert(tenant, c);
        Ok(c)
    }

    /// `tenant`'s currency, read in a transaction of its own the first time (for a request
    /// that holds no transaction yet).
    pub async fn currency_now(&self, tenant: uuid::Uuid) -> error::ApiResult<pos_domain::Currency> {
        match self.known_currency(tenant) {
            Some(c) => Ok(c),
            None => {
                let mut tx = self.tx(tenant).await?;
                self.currency(&mut tx, tenant).await
            }
        }
    }

    fn known_currency(&self, tenant: uuid::Uuid) -> Option<pos_domain::Currency> {
        self.currencies
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&tenant)
            .copied()
    }

    /// A transaction of `tenant` (see [`db::Tx`]).
    pub async fn tx(&self, tenant: uuid::Uuid) -> error::ApiResult<db::Tx> {
        db::tenant_tx(&self.pool, &self.streams, tenant).await
    }
}

/// Runs password hashing and checking on the service's fixed hashing threads (one per core; see
/// [`pos_crypto::password`]), never on the runtime's blocking pool: a burst of logins queues
/// here instead of holding 19 MiB of argon2 memory on each of up to 512 blocking threads.
pub async fn on_hash_thread<T: Send + 'static>(
    f: impl FnOnce() -> T + Send + 'static,
) -> error::ApiResult<T> {
    static HASHERS: std::sync::OnceLock<Option<pos_crypto::password::Hashers>> =
        std::sync::OnceLock::new();
    HASHERS
        .get_or_init(|| {
            let threads = std::thread::available_parallelism().map_or(2, |n| n.get());
            pos_crypto::password::Hashers::start(threads, "password-hash").ok()
        })
        .as_ref()
        .ok_or_else(|| error::ApiError::Internal("no password hashing threads".into()))?
        .run(f)
        .await
        .map_err(|e| error::ApiError::Internal(e.to_string()))
}

/// Largest request body accepted.
pub const MAX_BODY_BYTES: usize = 256 * 1024;

pub fn router(state: AppState) -> Router {
    let api = Router::new()
        .route("/auth/login", post(login::login))
        .route("/offline-orders", post(orders::create).get(orders::list))
        .route(
            "/offline-orders/{id}",
            get(orders::get).delete(orders::delete).patch(orders::patch),
        )
        .route("/offline-orders/{id}/payments", post(orders::pay))
        .route(
            "/offline-orders/{id}/payments/{payment_id}/reversal",
            post(orders::reverse),
        )
        .route("/users", post(users::create).get(users::list))
        .route("/auth/device-token", post(devices::device_token))
        .route("/devices/pairing-codes", post(devices::pairing_code))
        .route("/devices/pair", post(devices::pair))
        .route("/devices/{id}", axum::routing::delete(devices::revoke))
        .route("/sync/pull", get(sync::pull))
        .route(
            "/sync/push",
            post(sync::push).layer(axum::extract::DefaultBodyLimit::max(state.sync_body_limit)),
        )
        .route("/events", get(feeds::events))
        .route("/analytics/offline-orders/summary", get(feeds::summary))
        .route("/audit-events", get(orders::audit_events))
        .route("/audit-events/verify", get(orders::audit_verify))
        .route("/openapi.json", get(openapi_json));
    Router::new()
        .nest("/api/v1", api)
        .fallback(|| async { error::ApiError::NotFound })
        .method_not_allowed_fallback(|| async { error::ApiError::MethodNotAllowed })
        .route("/healthz", get(|| async { "ok" }))
        .route("/metrics", get(|axum::extract::State(s): axum::extract::State<AppState>| async move { s.metrics.render() }))
        .route("/readyz", get(readyz))
        .route_layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        // A handler that panics answers 500 problem+json (and is logged) instead of dropping
        // the connection.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                axum::response::IntoResponse::into_response(error::ApiError::Internal(
                    "a handler panicked".into(),
                ))
            },
        ))
        // Request spans carry the method and path only: query strings can hold a searched
        // phone number or e-mail, which must never reach a log.
        .layer(tower_http::trace::TraceLayer::new_for_http().make_span_with(
            |req: &axum::http::Request<axum::body::Body>| {
                tracing::info_span!("request", method = %req.method(), path = %req.uri().path())
            },
        ))
        .with_state(state)
}

/// `GET /api/v1/openapi.json`: the API document, generated from the code.
async fn openapi_json() -> axum::Json<utoipa::openapi::OpenApi> {
    use utoipa::OpenApi;
    axum::Json(openapi::ApiDoc::openapi())
}

async fn readyz(
    axum::extract::State(s): axum::extract::State<AppState>,
) -> Result<&'static str, error::ApiError> {
    sqlx::query("SELECT 1").execute(&s.pool).await?;
    Ok("ready")
}

/// Serves until ctrl-c / SIGTERM, then drains in-flight requests.
pub async fn serve(listener: tokio::net::TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let mut term =
                    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                    {
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
